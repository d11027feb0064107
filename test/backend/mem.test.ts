import { runBackendSuite } from './backend-suite.js';
import { MemBackend } from '../../src/core/backend/mem.js';

runBackendSuite('mem', async () => ({ backend: new MemBackend(), cleanup: async () => undefined }));
