// The version of weightgen, from package.json (bundled in at build time): recorded in run-folder manifests.
import pkg from '../package.json';

export const VERSION: string = pkg.version;
