import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './styles.css';
import type { Boot } from './types';

const bootEl = document.getElementById('resolve-boot');
const boot: Boot = bootEl?.textContent
  ? (JSON.parse(bootEl.textContent) as Boot)
  : {
      slug: location.pathname.split('/').filter(Boolean)[1] ?? '',
      name: null,
      default_language: 'en',
      languages: [],
    };

// Embedded in an iframe: tell the parent page our height whenever it changes (see docs/embedding.md).
if (window.parent !== window) {
  let last = 0;
  new ResizeObserver(() => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ type: 'resolve:height', height }, '*');
    }
  }).observe(document.documentElement);
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App boot={boot} />
    </StrictMode>,
  );
