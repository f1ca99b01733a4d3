/** `npm run schema`: regenerates schema/*.schema.json (editor-schemas.ts). */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeEditorSchemas } from './editor-schemas.js';
import { packageRoot } from '../paths.js';

mkdirSync(join(packageRoot, 'schema'), { recursive: true });
for (const file of writeEditorSchemas()) console.log(`wrote ${file}`);
