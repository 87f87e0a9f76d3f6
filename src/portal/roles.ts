import type { Role } from '../shops/api-keys.js';
import type { UserRole } from '../shops/users.js';

/** Portal roles map onto API roles: an agent works claims like an editor key; settings need admin. */
export function userRoleAsApiRole(r: UserRole): Role {
  return r === 'admin' ? 'admin' : r === 'agent' ? 'editor' : 'viewer';
}
