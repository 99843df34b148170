// The version of weightgen, from package.json (bundled in at build time): recorded in run-folder manifests.
// A named import, so that the bundles carry the version string and not the whole package.json.
import { version } from '../package.json';

export const VERSION: string = version;
