/**
 * Loading plugins: resolving a spec (a path, a `file:`, `jsr:`, `npm:` or
 * `https:` specifier, or a first-party short name), importing it, building it
 * from its default export, validating its shape and running its `setup`. A
 * plugin that fails to load stops start-up with a message naming it.
 *
 * @module
 */
import type { Plugin, PluginFactory, PluginHost } from "./contract.ts";
import type { ToolDefinition } from "../core/tool.ts";
import { DbosMcpError, errorMessage, isNotCapable } from "../core/errors.ts";
import { isAbsolute, resolve } from "../util/path.ts";

/**
 * First-party plugins by short name. Literal dynamic imports keep them in the
 * module graph, so loading them needs no `--allow-read` and works from JSR
 * and from a compiled binary.
 */
const FIRST_PARTY: Record<string, () => Promise<{ default: unknown }>> = {
  redact: () => import("../../plugins/redact.ts"),
  audit: () => import("../../plugins/audit.ts"),
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
  return errorMessage(err).split("\n")[0];
}

/** The plugins of a server and the tools they add. */
export interface LoadedPlugins {
  /** The plugins, in load order: those named by spec, then those given built. */
  plugins: Plugin[];
  /** The tools the plugins add. */
  tools: ToolDefinition[];
  /** The name of the plugin that added each plugin tool. */
  owners: Map<string, string>;
}

/**
 * Loads the plugins named by `specs` (with their options), then sets up the
 * plugins given already built, and collects their tools. A tool whose name
 * is already taken (by `builtinNames` or another plugin) stops start-up; on
 * any failure, the plugins loaded so far are closed before the error is
 * thrown.
 *
 * @throws {PluginLoadError} when a plugin cannot be loaded or set up, or names a tool twice.
 */
export async function loadPlugins(
  specs: readonly string[],
  options: Readonly<Record<string, Record<string, unknown>>>,
  built: readonly Plugin[],
  host: PluginHost,
  builtinNames: ReadonlySet<string>,
): Promise<LoadedPlugins> {
  const plugins: Plugin[] = [];
  const tools: ToolDefinition[] = [];
  const owners = new Map<string, string>();
  try {
    for (const spec of specs) plugins.push(await loadPlugin(spec, options[spec] ?? {}, host));
    for (const plugin of built) {
      checkShape(plugin?.name ?? "(unnamed)", plugin);
      await plugin.setup?.(host);
      plugins.push(plugin);
    }
    for (const plugin of plugins) {
      for (const tool of plugin.tools ?? []) {
        if (builtinNames.has(tool.name) || owners.has(tool.name)) {
          throw new PluginLoadError(plugin.name, `its tool '${tool.name}' has the name of another tool`);
        }
        owners.set(tool.name, plugin.name);
        tools.push(tool);
      }
    }
  } catch (err) {
    await Promise.allSettled(plugins.map((p) => p.close?.()));
    throw err;
  }
  return { plugins, tools, owners };
}
