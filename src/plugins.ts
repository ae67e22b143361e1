/**
 * Loading plugins: resolving a spec (a path, a `file:`, `jsr:`, `npm:` or
 * `https:` specifier, or a first-party short name), importing it, building it
 * from its default export, validating its shape and running its `setup`. A
 * plugin that fails to load stops start-up with a message naming it.
 *
 * @module
 */
import type { Plugin, PluginFactory, PluginHost } from "./plugin.ts";
import { DbosMcpError, isNotCapable } from "./errors.ts";
import { isAbsolute, resolve } from "./_path.ts";

/**
 * First-party plugins by short name. Literal dynamic imports keep them in the
 * module graph, so loading them needs no `--allow-read` and works from JSR
 * and from a compiled binary.
 */
const FIRST_PARTY: Record<string, () => Promise<{ default: unknown }>> = {
  redact: () => import("../plugins/redact.ts"),
  audit: () => import("../plugins/audit.ts"),
};

/** A plugin could not be loaded or set up. */
export class PluginLoadError extends DbosMcpError {
  /** Creates the error for the plugin `spec`. */
  constructor(spec: string, why: string, options: { cause?: unknown } = {}) {
    super(`Could not load plugin '${spec}': ${why}`, {
      code: "CONFIG",
      hint: "Fix or remove the plugin (--plugin, DBOS_MCP_PLUGINS or the config file), then restart.",
      cause: options.cause,
    });
    this.name = "PluginLoadError";
  }
}

/** The module specifier a plugin spec stands for (short names excepted). */
export function pluginSpecifier(spec: string, cwd: string = Deno.cwd()): string {
  if (/^(file|jsr|npm|https?):/.test(spec)) return spec;
  const path = isAbsolute(spec) ? spec : resolve(cwd, spec);
  return new URL(`file://${path.split("/").map(encodeURIComponent).join("/")}`).href;
}

/** Loads and sets up one plugin; `options` come from the config file's `plugin-options`. */
export async function loadPlugin(spec: string, options: Record<string, unknown>, host: PluginHost): Promise<Plugin> {
  let mod: { default?: unknown };
  try {
    mod = spec in FIRST_PARTY ? await FIRST_PARTY[spec]() : await import(pluginSpecifier(spec));
  } catch (err) {
    const why = isNotCapable(err)
      ? `Deno did not allow reading or importing it (${
        firstLine(err)
      }); grant --allow-read for a local file or --allow-import for a remote one`
      : firstLine(err);
    throw new PluginLoadError(spec, why, { cause: err });
  }
  const exported = mod.default;
  let plugin: unknown;
  try {
    plugin = typeof exported === "function" ? await (exported as PluginFactory)(options, host) : exported;
  } catch (err) {
    throw new PluginLoadError(spec, `its factory failed: ${firstLine(err)}`, { cause: err });
  }
  checkShape(spec, plugin);
  try {
    await plugin.setup?.(host);
  } catch (err) {
    throw new PluginLoadError(spec, `its setup failed: ${firstLine(err)}`, { cause: err });
  }
  return plugin;
}

/** Checks that `p` has the shape of a {@linkcode Plugin}; `spec` names it in errors. */
export function checkShape(spec: string, p: unknown): asserts p is Plugin {
  if (!p || typeof p !== "object") {
    throw new PluginLoadError(spec, "its default export must be a plugin object or a factory returning one");
  }
  const plugin = p as Record<string, unknown>;
  if (typeof plugin.name !== "string" || plugin.name === "") {
    throw new PluginLoadError(spec, "the plugin has no name");
  }
  for (const hook of ["setup", "wrapBackend", "beforeCall", "transformResult", "afterCall", "close"]) {
    if (plugin[hook] !== undefined && typeof plugin[hook] !== "function") {
      throw new PluginLoadError(spec, `'${hook}' must be a function`);
    }
  }
  if (plugin.tools !== undefined) {
    if (!Array.isArray(plugin.tools)) throw new PluginLoadError(spec, "'tools' must be an array");
    for (const t of plugin.tools as Record<string, unknown>[]) {
      const ok = t && typeof t.name === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(t.name) &&
        typeof t.description === "string" && typeof t.handler === "function" && typeof t.render === "function" &&
        typeof t.mutates === "boolean" && t.input && t.output && t.annotations &&
        typeof (t.annotations as Record<string, unknown>).readOnlyHint === "boolean";
      if (!ok) {
        throw new PluginLoadError(
          spec,
          `tool ${JSON.stringify(t?.name)} must have a name, description, input and output schemas, ` +
            "annotations with readOnlyHint, a boolean mutates, a handler and a render function",
        );
      }
    }
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}
