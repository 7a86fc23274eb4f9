/** Skiff's version (from package.json, bundled into the image's single file) and the image built from it (`npm run image`). */
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
export const DEFAULT_IMAGE = `localhost/skiff:${VERSION}`;
