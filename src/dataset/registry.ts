/**
 * The 43 datasets of CLIP_benchmark and evalscope that clipbench knows by name: each one's task
 * and its WebDataset repositories on the two hubs.
 *
 * - **ModelScope** (evalscope's default): `clip-benchmark/wds_<name>`, the name as it is
 *   (`wds_vtab_cifar10`, `wds_imagenet-a`).
 * - **Hugging Face** (CLIP_benchmark's): `clip-benchmark/wds_<slug>`, where the slug is
 *   CLIP_benchmark's own dataset name with `/` turned into `-`. CLIP_benchmark names the VTAB
 *   datasets `vtab/<task>`, so only the separator after `vtab` changes: `vtab_cifar10` →
 *   `wds_vtab-cifar10`, `vtab_clevr_count_all` → `wds_vtab-clevr_count_all`; every other
 *   underscore stays (`wds_fgvc_aircraft`, `wds_imagenet_sketch`, `wds_voc2007_multilabel`).
 *   `muge` (a Chinese retrieval set that evalscope adds) has no known Hugging Face copy.
 *
 * The names are evalscope's `webdatasets.txt` (CLIP_benchmark's `benchmark/webdatasets.txt`
 * with `vtab/` written `vtab_`) plus `muge` and `mscoco_captions2017`. The task of each follows
 * evalscope's rule (the retrieval names), with `voc2007_multilabel` a multi-label classification
 * (its shards carry `npy` targets and a `dataset_type.txt` of `multilabel`).
 *
 * @module
 */

/** What a registered dataset is evaluated with. */
export type RegisteredTask = "classification" | "multilabel" | "retrieval";

/** A dataset clipbench knows by name. */
export interface RegisteredDataset {
  /** The name used on the command line and in evalscope configurations. */
  readonly name: string;
  /** Its task. */
  readonly task: RegisteredTask;
  /** The ModelScope dataset repository. */
  readonly modelscope: string;
  /** The Hugging Face dataset repository; absent where none is known. */
  readonly huggingface?: string;
}

/** The namespace of the WebDataset repositories on both hubs. */
export const DATASET_NAMESPACE = "clip-benchmark";

const RETRIEVAL = ["muge", "flickr30k", "flickr8k", "mscoco_captions", "mscoco_captions2017"];

const CLASSIFICATION = [
  "imagenet1k",
  "imagenetv2",
  "imagenet_sketch",
  "imagenet-a",
  "imagenet-r",
  "imagenet-o",
  "objectnet",
  "fer2013",
  "voc2007",
  "sun397",
  "cars",
  "fgvc_aircraft",
  "mnist",
  "stl10",
  "gtsrb",
  "country211",
  "renderedsst2",
];

const MULTILABEL = ["voc2007_multilabel"];

/** The 20 VTAB tasks, as CLIP_benchmark names them after `vtab/`. */
const VTAB_TASKS = [
  "caltech101",
  "cifar10",
  "cifar100",
  "clevr_count_all",
  "clevr_closest_object_distance",
  "diabetic_retinopathy",
  "dmlab",
  "dsprites_label_orientation",
  "dsprites_label_x_position",
  "dsprites_label_y_position",
  "dtd",
  "eurosat",
  "kitti_closest_vehicle_distance",
  "flowers",
  "pets",
  "pcam",
  "resisc45",
  "smallnorb_label_azimuth",
  "smallnorb_label_elevation",
  "svhn",
];

/** Datasets without a known Hugging Face repository. */
const MODELSCOPE_ONLY = new Set(["muge"]);

/**
 * The Hugging Face slug of a dataset name: CLIP_benchmark's name with `/` → `-`, i.e.
 * `vtab_<task>` → `vtab-<task>`, every other name unchanged.
 */
export function huggingFaceSlug(name: string): string {
  return name.startsWith("vtab_") ? `vtab-${name.slice("vtab_".length)}` : name;
}

function entry(name: string, task: RegisteredTask): RegisteredDataset {
  return {
    name,
    task,
    modelscope: `${DATASET_NAMESPACE}/wds_${name}`,
    ...(MODELSCOPE_ONLY.has(name)
      ? {}
      : { huggingface: `${DATASET_NAMESPACE}/wds_${huggingFaceSlug(name)}` }),
  };
}

/** All registered datasets: retrieval, classification, multi-label, then the VTAB tasks. */
export const REGISTERED_DATASETS: readonly RegisteredDataset[] = [
  ...RETRIEVAL.map((name) => entry(name, "retrieval")),
  ...CLASSIFICATION.map((name) => entry(name, "classification")),
  ...MULTILABEL.map((name) => entry(name, "multilabel")),
  ...VTAB_TASKS.map((task) => entry(`vtab_${task}`, "classification")),
];

const BY_NAME = new Map(REGISTERED_DATASETS.map((dataset) => [dataset.name, dataset]));

/** The registered dataset of this name, or `undefined`. */
export function findRegisteredDataset(name: string): RegisteredDataset | undefined {
  return BY_NAME.get(name);
}
