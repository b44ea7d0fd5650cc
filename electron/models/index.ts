// The model library's one entry point: ModelLibrary (folder + recent files, descriptions, fit estimates, per-model
// settings, downloads). The host and `npm run models` use it; nothing else reaches into this folder's modules.
export { ModelLibrary, type ModelLibraryOptions } from "./model-library.js";
export { checkDownloadUri, probeSource, sha256File, stagingFolderName } from "./downloads.js";
export { curatedEntries, curatedModels } from "./curated.js";
export { estimateFit, fitMarginBytes, gib } from "./fit.js";
export { readMemory, type MemoryInfo } from "./memory.js";
