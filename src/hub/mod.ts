/**
 * clipbench's hub support in one import: the registry of the 43 datasets, model and dataset
 * resolution on ModelScope and Hugging Face (settings from options and the Python tools'
 * environment variables, caches shared with them, offline mode), the download progress
 * reporter, and the HTTP and retry settings they take.
 *
 * ```ts ignore
 * import { resolveDataset, resolveModel } from "./src/hub/mod.ts";
 * import { ClipModel, openWebDataset } from "./mod.ts";
 *
 * const model = await resolveModel("Xenova/clip-vit-base-patch32", { hub: "huggingface" });
 * const clip = await ClipModel.load(model.dir);
 * const cars = await resolveDataset("cars", { hub: "huggingface", cacheDir: "cache" });
 * const dataset = await openWebDataset(cars.location, { split: cars.split });
 * ```
 *
 * @module
 */

export {
  DATASET_NAMESPACE,
  findRegisteredDataset,
  huggingFaceSlug,
  REGISTERED_DATASETS,
  type RegisteredDataset,
  type RegisteredTask,
} from "../dataset/registry.ts";
export {
  DEFAULT_HUB,
  defaultCacheRoot,
  type Environment,
  HUB_NAMES,
  type HubName,
  type HubOptions,
  type HubSettings,
  hubSettings,
  HUGGINGFACE_ENDPOINT,
  huggingFaceHome,
  MODELSCOPE_ENDPOINT,
  parseHubName,
  PROCESS_ENV,
  type RepoKind,
} from "./hub_settings.ts";
export {
  KNOWN_ONNX_EXPORTS,
  type ModelFileSelection,
  onnxExportAdvice,
  type ResolvedModel,
  resolveModel,
  type ResolveModelOptions,
  selectModelFiles,
} from "./resolve_model.ts";
export {
  type DatasetCacheStatus,
  datasetCacheStatus,
  type DatasetReadMode,
  datasetRepositoryId,
  resolveDataset,
  type ResolveDatasetOptions,
  type ResolvedDataset,
} from "./resolve_dataset.ts";
export {
  type FetchOptions,
  type HubRepository,
  isRepoId,
  openHubRepository,
  type RemoteEntry,
  type RepositoryOptions,
} from "./hub_repository.ts";
export {
  type DownloadProgress,
  type DownloadProgressOptions,
  DownloadProgressReporter,
  type DownloadTracker,
  formatBytes,
  SILENT_PROGRESS,
} from "./download_progress.ts";
export {
  DEFAULT_RETRY_POLICY,
  NO_RETRY_POLICY,
  type RetryClock,
  type RetryPolicy,
} from "../io/http/retry.ts";
export type { FileLockOptions, LockHolder } from "./file_lock.ts";
export type { ContentHash, HashAlgorithm } from "./file_hash.ts";
export type { ByteSourceOptions, DatasetLocation, OpenStreamOptions } from "../io/byte_source.ts";
export type { HttpOptions, RetryEvent } from "../io/http/client.ts";
export type { OpenedFile } from "../io/opened_file.ts";
