/**
 * Every task clipbench runs, registered with the runner and the merge
 * (src/run/task_registry.ts). Importing this module is what makes `evaluateDataset`,
 * `runEvaluations`, `mergePartials` and the HTTP handler able to run them; `mod.ts` and `cli.ts`
 * import it.
 *
 * A task is a folder here whose `mod.ts` fills in the skeleton of tasks/task.ts (its preparation,
 * its per-sample payload, its per-batch scoring, its result, its shard state and its merge) and
 * exports the definition that skeleton makes; registering it is one line below.
 *
 * @module
 */

import { registerTask } from "../src/run/task_registry.ts";
import { zeroShotClassificationTask } from "./zeroshot_classification/mod.ts";
import { zeroShotRetrievalTask } from "./zeroshot_retrieval/mod.ts";

registerTask(zeroShotClassificationTask);
registerTask(zeroShotRetrievalTask);

export { zeroShotClassificationTask, zeroShotRetrievalTask };
