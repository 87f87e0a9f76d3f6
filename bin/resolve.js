#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npm start` and `npx resolve` need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
