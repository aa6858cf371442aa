/**
 * The dataset registry against its references: evalscope's `webdatasets.txt` (its copy of
 * CLIP_benchmark's `benchmark/webdatasets.txt` with `vtab/` written `vtab_`), evalscope's list of
 * retrieval datasets, and the Hugging Face repository names CLIP_benchmark's README and users
 * cite (`wds_vtab-cifar10`, `wds_vtab-clevr_count_all`, `wds_fgvc_aircraft`,
 * `wds_imagenet_sketch`).
 */

import assert from "node:assert/strict";
import {
  findRegisteredDataset,
  huggingFaceSlug,
  REGISTERED_DATASETS,
} from "../../src/dataset/registry.ts";

/** evalscope's `clip_benchmark/webdatasets.txt`, in its order. */
const EVALSCOPE_WEBDATASETS = `mscoco_captions
mscoco_captions2017
flickr8k
flickr30k
imagenet1k
imagenetv2
imagenet_sketch
imagenet-a
imagenet-r
imagenet-o
objectnet
fer2013
voc2007
voc2007_multilabel
sun397
cars
fgvc_aircraft
mnist
stl10
gtsrb
country211
renderedsst2
vtab_caltech101
vtab_cifar10
vtab_cifar100
vtab_clevr_count_all
vtab_clevr_closest_object_distance
vtab_diabetic_retinopathy
vtab_dmlab
vtab_dsprites_label_orientation
vtab_dsprites_label_x_position
vtab_dsprites_label_y_position
vtab_dtd
vtab_eurosat
vtab_kitti_closest_vehicle_distance
vtab_flowers
vtab_pets
vtab_pcam
vtab_resisc45
vtab_smallnorb_label_azimuth
vtab_smallnorb_label_elevation
vtab_svhn`.split("\n");

/** evalscope's `get_dataset_default_task` retrieval names (less `custom` and the multilingual). */
const RETRIEVAL = ["muge", "flickr30k", "flickr8k", "mscoco_captions", "mscoco_captions2017"];

Deno.test("the registry holds the seed's 43 names: evalscope's 42 WebDatasets and muge", () => {
  const names = REGISTERED_DATASETS.map((dataset) => dataset.name);
  assert.equal(names.length, 43);
  assert.equal(new Set(names).size, 43);
  assert.deepEqual([...names].sort(), [...EVALSCOPE_WEBDATASETS, "muge"].sort());
  const vtab = names.filter((name) => name.startsWith("vtab_"));
  assert.equal(vtab.length, 20);
});

Deno.test("each dataset's task follows evalscope (and voc2007_multilabel is multi-label)", () => {
  for (const dataset of REGISTERED_DATASETS) {
    const expected = RETRIEVAL.includes(dataset.name)
      ? "retrieval"
      : dataset.name === "voc2007_multilabel"
      ? "multilabel"
      : "classification";
    assert.equal(dataset.task, expected, dataset.name);
  }
});

Deno.test("ModelScope repositories are wds_<name>; Hugging Face ones wds_<CLIP_benchmark slug>", () => {
  for (const dataset of REGISTERED_DATASETS) {
    assert.equal(dataset.modelscope, `clip-benchmark/wds_${dataset.name}`);
  }
  const huggingFace = (name: string) => findRegisteredDataset(name)?.huggingface;
  assert.equal(huggingFace("vtab_cifar10"), "clip-benchmark/wds_vtab-cifar10");
  assert.equal(huggingFace("vtab_clevr_count_all"), "clip-benchmark/wds_vtab-clevr_count_all");
  assert.equal(
    huggingFace("vtab_diabetic_retinopathy"),
    "clip-benchmark/wds_vtab-diabetic_retinopathy",
  );
  assert.equal(huggingFace("fgvc_aircraft"), "clip-benchmark/wds_fgvc_aircraft");
  assert.equal(huggingFace("imagenet_sketch"), "clip-benchmark/wds_imagenet_sketch");
  assert.equal(huggingFace("imagenet-a"), "clip-benchmark/wds_imagenet-a");
  assert.equal(huggingFace("voc2007_multilabel"), "clip-benchmark/wds_voc2007_multilabel");
  assert.equal(huggingFace("muge"), undefined);
  // CLIP_benchmark's slug is its name "vtab/<task>" with "/" → "-".
  for (const name of EVALSCOPE_WEBDATASETS) {
    const clipBenchmarkName = name.replace(/^vtab_/, "vtab/");
    assert.equal(huggingFaceSlug(name), clipBenchmarkName.replaceAll("/", "-"), name);
  }
  assert.equal(findRegisteredDataset("cifar10"), undefined);
});
