/**
 * clipbench: zero-shot benchmarks of CLIP-style image–text models (ONNX exports in the
 * transformers.js layout) on CLIP_benchmark's WebDataset datasets, with numbers that match the
 * Python reference (CLIP_benchmark / evalscope).
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   ClipModel,
 *   evaluateZeroShotClassification,
 *   openWebDataset,
 * } from "@clipbench/clipbench";
 *
 * const model = await ClipModel.load("examples/demo/tiny-clip-demo");
 * const dataset = await openWebDataset("examples/demo/data/fashion_mnist_1k");
 * const result = await evaluateZeroShotClassification(model, dataset, {
 *   datasetName: "fashion_mnist_1k",
 *   noCache: true, // neither read nor write the classifier cache
 * });
 * await model.release();
 * console.log(result.metrics); // { acc1: 0.75, acc5: 0.995, mean_per_class_recall: 0.7529… }
 * assert.equal(result.n_samples, 1000);
 * ```
 *
 * Building blocks: {@linkcode openWebDataset} streams samples shard by shard from a folder or
 * URL; {@linkcode decodeImage} decodes PNG/JPEG/GIF/WebP as Pillow does;
 * {@linkcode ImagePreprocessor} reproduces CLIPImageProcessor; {@linkcode TextTokenizer} makes
 * fixed-context token rows; {@linkcode ClipModel} runs the ONNX towers; the task modules turn
 * them into metrics; {@linkcode runEvaluations} runs a whole plan and writes evalscope's result
 * files. {@linkcode convertCheckpoint} turns a PyTorch checkpoint (transformers CLIP, Chinese-CLIP,
 * SigLIP, open_clip) into such an ONNX model folder, and {@linkcode convertedModelDir} does it once
 * per checkpoint into a cache. {@linkcode createEvaluationHandler} serves evaluations over HTTP (a
 * Fetch API handler);
 * a shard of a dataset ({@linkcode ShardSpec}) gives a partial result that
 * {@linkcode mergePartials} merges into exactly the unsharded result.
 *
 * @module
 */

// Registers every task with the runner and the merge (src/run/task_registry.ts).
import "./tasks/mod.ts";

export {
  ClipModel,
  type LoadModelOptions,
  loadPreprocessor,
  loadTokenizer,
} from "./src/model/model.ts";
export {
  openWebDataset,
  type OpenWebDatasetOptions,
  type SampleReadOptions,
  type WebDataset,
  type WebDatasetType,
} from "./src/dataset/wds.ts";
export { type ImageField, imageField, labelField, type Sample } from "./src/dataset/webdataset.ts";
export { decodeImage, decodeNativeImage, type DecodeOptions } from "./src/image/decode/mod.ts";
export {
  JPEG_DECODER_CHOICES,
  JPEG_DECODER_ENV,
  type JpegDecoderChoice,
  jpegDecoderDescription,
  type JpegPixelDecoder,
  loadJpegDecoder,
} from "./src/image/decode/jpeg_decoder.ts";
export { LIBTURBOJPEG_ENV } from "./src/image/decode/turbojpeg_native.ts";
export type { TurboJpegImage } from "./src/image/decode/turbojpeg.ts";
export type { RgbImage } from "./src/image/rgb_image.ts";
export type {
  ByteSampleImage,
  Int32SampleImage,
  NativeImage,
  PaletteImage,
  PillowMode,
} from "./src/image/native_image.ts";
export type {
  ConversionOrder,
  CropRounding,
  PreprocessMode,
  PreprocessorSettings,
  ResizeTarget,
} from "./src/image/preprocess/config.ts";
export { ImagePreprocessor } from "./src/image/preprocess/kernel.ts";
export { ResampleFilter } from "./src/image/resize.ts";
export {
  type TextCleaning,
  type TextPadding,
  TextTokenizer,
  type TextTokenizerOptions,
  type TokenizedBatch,
} from "./src/model/tokenizer.ts";
export { type SessionSettings, TextTower, VisionTower } from "./src/model/encoder.ts";
export {
  availableExecutionProviders,
  type ExecutionProvider,
  GRAPH_OPTIMIZATION_LEVELS,
  type GraphOptimizationLevel,
} from "./src/model/onnx_session.ts";
export {
  type EmbeddingBatch,
  imageEmbeddingBatches,
  type ImageEmbeddingOptions,
  type PipelineOptions,
} from "./src/pipeline/image_embeddings.ts";
export { defaultNumWorkers } from "./src/pipeline/core_split.ts";
export {
  type CachedClassifier,
  type ClassifierCacheOptions,
  type ClassifierWeights,
} from "./tasks/zeroshot_classification/classifier_cache.ts";
export { defaultCacheDir } from "./src/io/cache_dir.ts";
export { type ImageBatch, imageBatches } from "./src/pipeline/image_batches.ts";
export { type ImageBatchOptions } from "./src/pipeline/slot_batcher.ts";
export { DTYPE_SUFFIXES, isModelDtype, MODEL_DTYPES, type ModelDtype } from "./src/model/files.ts";
export { type ModelFamily, modelFamily, type ModelFamilyName } from "./src/model/family.ts";
export {
  ClassificationAccumulator,
  type ClassificationMetrics,
  type ClassificationState,
} from "./src/metrics/classification.ts";
export {
  MultilabelAccumulator,
  type MultilabelAccumulatorOptions,
  type MultilabelMetrics,
  type TorchVectorLanes,
} from "./src/metrics/multilabel.ts";
export {
  RetrievalAccumulator,
  type RetrievalMetrics,
  type RetrievalRanks,
} from "./src/metrics/retrieval.ts";
export {
  type PromptFile,
  type PromptOverrides,
  promptOverridesFor,
  readClassnamesFile,
  type ReadPromptFileOptions,
  readTemplatesFile,
  type ZeroShotTemplates,
} from "./src/dataset/prompts.ts";
export {
  CUSTOM_QUERIES_FILE,
  CustomDataset,
  type CustomRecord,
  openCustomDataset,
  type OpenCustomDatasetOptions,
} from "./src/dataset/custom.ts";
export {
  completePlan,
  type EvalPlan,
  planFromTaskConfig,
  readTaskConfigFile,
  type TaskChoice,
} from "./src/run/config.ts";
export {
  type DatasetOutcome,
  evaluateDataset,
  type EvaluationFailure,
  modelLoadOptions,
  type PromptFiles,
  runEvaluations,
  type RunHooks,
} from "./src/run/evaluate.ts";
export {
  checkShardSpec,
  formatShardSpec,
  KUBERNETES_INDEX_ENV,
  MAX_SHARD_COUNT,
  parseShardSpec,
  SHARD_COUNT_ENV,
  SHARD_INDEX_ENV,
  shardFromEnvironment,
  type ShardSources,
  type ShardSpec,
} from "./src/dataset/sharding/shard_spec.ts";
export {
  type PositionedSkip,
  positionedSkips,
  PositionList,
  sampleOwner,
  type SamplePosition,
  type ShardableDataset,
  ShardReader,
  type ShardReadingMode,
  type ShardReadingPlan,
  shardReadingPlan,
  type SkipCallbacks,
} from "./src/dataset/sharding/shard_reading.ts";
export type {
  ClassificationShardState,
  MultilabelShardState,
  RetrievalShardState,
  ShardMetricState,
  ShardOutcome,
  ShardPositions,
  ShardReadingRecord,
} from "./src/results/partial/shard_outcome.ts";
export {
  canonicalJson,
  fingerprintSha256,
  firstDifference,
  modelFingerprint,
  type PartialFingerprint,
} from "./src/results/partial/fingerprint.ts";
export {
  decodePartial,
  encodePartial,
  PARTIAL_EXTENSION,
  PARTIAL_FORMAT_VERSION,
  PARTIAL_MAGIC,
  PartialError,
  partialFileName,
  partialPath,
  type PartialResult,
  readPartial,
  writePartial,
} from "./src/results/partial/partial_file.ts";
export {
  type MergedResult,
  mergePartialFiles,
  mergePartialFilesAndWrite,
  mergePartials,
  mergeWithPredictions,
  type SourcedPartial,
} from "./src/results/partial/merge.ts";
export { type ShardPredictions } from "./src/results/predictions/merge_predictions.ts";
export {
  type ClassificationRow,
  type MultilabelRow,
  type PredictionRow,
  type Predictions,
  PREDICTIONS_FORMAT,
  PREDICTIONS_VERSION,
  PredictionsError,
  type PredictionsHeader,
  type PredictionsKind,
  predictionsPathFor,
  readFinalPredictions,
  readPredictions,
  type RetrievalRow,
  type ShardPredictionRow,
  type TaskPredictionsHeader,
} from "./src/results/predictions/predictions_file.ts";
export {
  type PredictionSink,
  PredictionsWriter,
} from "./src/results/predictions/predictions_writer.ts";
export {
  allRows,
  type SampleMetric,
  type SampleOutcomes,
  sampleOutcomes,
} from "./src/results/predictions/sample_metrics.ts";
export { CombinedProgress, type CombinedProgressOptions } from "./src/run/shard_progress.ts";
export { type ProgressOptions, type ProgressRecord } from "./src/run/progress.ts";
export {
  cliCommand,
  type LocalShardsOptions,
  type LocalShardsOutcome,
  runLocalShards,
} from "./src/run/local_shards.ts";
export {
  createEvaluationHandler,
  type EvaluationHandler,
  type EvaluationHandlerOptions,
  type HandlerStats,
  NDJSON_MEDIA_TYPE,
  PARTIAL_MEDIA_TYPE,
  SERVICE_VERSION,
} from "./src/server/handler.ts";
export { ModelCache, type ModelCacheOptions, type ModelLease } from "./src/server/model_cache.ts";
export {
  type EvaluationRequest,
  parseEvaluationRequest,
  type ParseLimits,
} from "./src/server/request.ts";
export { RequestError } from "./src/server/request_error.ts";
export {
  type DatasetSource,
  type HubAccess,
  type ModelSource,
  resolveDatasetSource,
  resolveModelSource,
  type SourcePolicy,
} from "./src/server/sources.ts";
export {
  isLoopbackHost,
  serveEvaluations,
  type ServeOptions,
  TOKEN_ENV,
} from "./src/server/serve.ts";
export {
  type FetchHandler,
  type HttpServer,
  type HttpServerOptions,
  serveHttp,
} from "./src/server/http_server.ts";
export {
  type CommonTaskOptions,
  registerTask,
  type TaskDefinition,
  taskDefinition,
  type TaskMerge,
  type TaskRun,
} from "./src/run/task_registry.ts";
export { zeroShotClassificationTask, zeroShotRetrievalTask } from "./tasks/mod.ts";
export { type ImageTaskOptions } from "./tasks/task.ts";
export {
  type EvaluationProgress,
  SampleTally,
  type SampleTallyOptions,
  type TalliedDataset,
} from "./src/run/sample_tally.ts";
export {
  type SkippedSample,
  type TaskName,
  type TaskResult,
  writeResult,
} from "./src/results/result.ts";
export {
  abbreviateMetric,
  formatSummaryTable,
  SUMMARY_TABLE_WIDTH,
} from "./src/results/summary_table.ts";
export {
  ClipbenchError,
  DatasetError,
  ImageDecodeError,
  ModelError,
  SampleError,
  UsageError,
} from "./src/errors.ts";
export {
  type Checkpoint,
  CheckpointError,
  type CheckpointTensor,
  type StoredDtype,
} from "./src/checkpoint/checkpoint.ts";
export { openCheckpoint } from "./src/checkpoint/open_checkpoint.ts";
export {
  type ClipbenchBlock,
  type ConversionProvenance,
  type ModelProvenance,
  type NumberSettings,
  type RuntimeInfo,
  type RunTiming,
  type ShardLayout,
  type TaskProvenance,
} from "./src/results/provenance.ts";
export {
  type ConversionRecord,
  CONVERT_DTYPES,
  convertCheckpoint,
  type ConvertDtype,
  type ConvertOptions,
} from "./src/convert/convert.ts";
export { type ConversionCacheOptions, convertedModelDir } from "./src/convert/conversion_cache.ts";
export {
  evaluateZeroShotClassification,
  evaluateZeroShotClassificationShard,
  type ZeroShotClassificationOptions,
} from "./tasks/zeroshot_classification/mod.ts";
export {
  buildZeroShotClassifier,
  zeroShotClassifier,
  type ZeroShotClassifierOptions,
} from "./tasks/zeroshot_classification/classifier.ts";
export {
  type ClassificationResultFields,
  type ZeroShotClassificationResult,
  zeroShotClassificationResult,
} from "./tasks/zeroshot_classification/result.ts";
export {
  DEFAULT_RECALL_K,
  evaluateZeroShotRetrieval,
  evaluateZeroShotRetrievalShard,
  type RetrievalDataset,
  type ZeroShotRetrievalOptions,
} from "./tasks/zeroshot_retrieval/mod.ts";
export {
  type ZeroShotRetrievalResult,
  zeroShotRetrievalResult,
} from "./tasks/zeroshot_retrieval/result.ts";
export * from "./src/hub/mod.ts";
export { listDatasets, type ListDatasetsOptions } from "./src/dataset/dataset_list.ts";
export { type ModelSpec } from "./src/run/config.ts";
