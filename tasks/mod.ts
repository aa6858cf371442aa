/**
 * Every task clipbench runs, registered with the runner and the merge
 * (src/run/task_registry.ts). Importing this module is what makes `evaluateDataset`,
 * `runEvaluations`, `mergePartials` and the HTTP handler able to run them; `mod.ts` and `cli.ts`
 * import it.
 *
 * A new task is a folder here with its evaluation, its merge and a `task.ts` definition, plus
 * one line below.
 *
 * @module
 */

import { registerTask } from "../src/run/task_registry.ts";
import { zeroShotClassificationTask } from "./zeroshot_classification/task.ts";
import { zeroShotRetrievalTask } from "./zeroshot_retrieval/task.ts";

registerTask(zeroShotClassificationTask);
registerTask(zeroShotRetrievalTask);

export { zeroShotClassificationTask, zeroShotRetrievalTask };
