// A JSON key named "__proto__" survives JSON.parse as a plain property, but
// the MCP SDK's schemas copy objects by assignment, which makes it the copy's
// prototype: the key vanishes, and a tool called with {"__proto__": 1} would
// run as if called with {} (a `logout` among them). Both transports refuse a
// request that carries one, before the SDK sees it.

/**
 * The path of the first key named `__proto__` in a parsed JSON value (e.g.
 * `params.arguments.__proto__`), or `undefined` when there is none. Walks
 * with its own stack, so deep nesting cannot overflow the call stack.
 */
export function protoKeyPath(value: unknown, path: string): string | undefined {
  const stack: [unknown, string][] = [[value, path]];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], `${at}[${i}]`]);
      continue;
    }
    for (const key of Object.keys(v)) {
      if (key === "__proto__") return `${at}.__proto__`;
      stack.push([(v as Record<string, unknown>)[key], `${at}.${key}`]);
    }
  }
  return undefined;
}

/**
 * When `message` is a request or notification whose params hold a
 * `__proto__` key: the JSON-RPC error to answer a request with (`id` is
 * `undefined` for a notification, which gets no answer). Else `undefined`.
 */
export function protoKeyRefusal(
  message: unknown,
): { id: string | number | undefined; error: { code: number; message: string } } | undefined {
  if (message === null || typeof message !== "object" || !("method" in message)) return undefined;
  const at = protoKeyPath((message as { params?: unknown }).params, "params");
  if (at === undefined) return undefined;
  const id = (message as { id?: unknown }).id;
  return {
    id: typeof id === "string" || typeof id === "number" ? id : undefined,
    error: {
      code: -32602,
      message: `Invalid params: a key named '__proto__' (at ${at}) cannot be passed on; remove or rename it`,
    },
  };
}
