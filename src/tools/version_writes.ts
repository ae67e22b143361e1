/**
 * `set_latest_application_version`: makes a version the application's
 * latest. It mutates, so read-only mode hides and refuses it.
 *
 * @module
 */
import { z } from "zod";
import { defineTool } from "../core/tool.ts";
import { applicationName } from "./_schemas.ts";
import { confirmOrStop } from "./_writes.ts";

/** `set_latest_application_version`. */
export const setLatestApplicationVersion = defineTool({
  name: "set_latest_application_version",
  description: "Make a version the application's latest, whose executors resume and recover workflows (e.g. to " +
    "roll back a deploy). Versions: list_application_versions.",
  input: z.strictObject({
    application_name: applicationName,
    version_name: z.string().min(1).max(512).describe("Version name (versionName)."),
  }),
  output: z.object({ application: z.string(), version_name: z.string(), message: z.string() }),
  annotations: {
    title: "Set latest application version",
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  mutates: true,
  async handler(args, ctx) {
    const app = args.application_name;
    await confirmOrStop(
      ctx,
      `Make ${args.version_name} the latest version of application ${app}?`,
      "the latest version was not changed",
    );
    await ctx.backend.setLatestApplicationVersion(app, args.version_name, { signal: ctx.signal });
    return {
      application: app,
      version_name: args.version_name,
      message: `${args.version_name} is now the latest version of ${app}. Check with list_application_versions.`,
    };
  },
  render: (r) => r.message,
});
