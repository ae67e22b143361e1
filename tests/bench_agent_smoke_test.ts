// The measured agent scenario (bench/agent_scenario.ts) in a small size, so
// it keeps working: a real system database, 1,000 workflows of which some
// failed at the same step with two errors; one summarize_workflows call must
// find the step and both errors. The full size (10,000) is run by hand; its
// figures are in the README.
import { assert, assertEquals } from "./_assert.ts";
import { formatAgentScenario, runAgentScenario } from "../bench/agent_scenario.ts";

Deno.test("the agent scenario finds the failing step and both errors in one call (1,000 workflows)", async () => {
  const r = await runAgentScenario(1_000);
  console.log(formatAgentScenario(r));
  assert(r.found, "summarize_workflows named both errors and the step");
  assertEquals(r.calls, 1);
  assert(r.bytes <= 4_096, `${r.bytes} bytes`);
  assert(r.defaultListBytes <= 16_384, `${r.defaultListBytes} bytes`);
});
