// Scripted MCP session with the official TypeScript client (@modelcontextprotocol/client), used by
// tests/e2e/test_ts_client.py to drive the gateway. Needs Node >= 22 (global WebSocket).
//
// Usage:
//   node ts_client.mjs http  ERA --url http://127.0.0.1:PORT/mcp [options]
//   node ts_client.mjs ws    ERA --url ws://127.0.0.1:PORT/ws    [options]
//   node ts_client.mjs stdio ERA [options] -- COMMAND [ARGS...]
// ERA: legacy | auto | 2026   (the client's versionNegotiation: 'legacy' | 'auto' | {pin: '2026-07-28'})
// Options:
//   --fixture PREFIX      run the era-fixture steps against tools/prompts named PREFIX+name (repeatable;
//                         use '' for an unprefixed gateway)
//   --everything PREFIX   also call server-everything's echo, get-sum and trigger-long-running-operation
//                         tools named PREFIX+name (repeatable), and read one of its demo:// resources
//   --unknown NAME        tool name to call that nobody serves (repeatable)
//   --roots               declare the roots capability and answer roots/list (counted)
//   --timeout-ms N        per-request timeout (default 20000)
//
// Output: one JSON object per line on stdout, each with a "step" key and "ok" (false with "error" when the
// step threw). The process always ends with a {"step":"done"} line unless the watchdog fires.

import { pathToFileURL } from 'node:url';

// The pinned packages live in <repo>/node/node_modules (override with BASTION_NODE_MODULES).
const NODE_MODULES = process.env.BASTION_NODE_MODULES
  ? pathToFileURL(process.env.BASTION_NODE_MODULES.replace(/\/?$/, '/'))
  : new URL('../../../node/node_modules/', import.meta.url);
const clientDist = new URL('@modelcontextprotocol/client/dist/', NODE_MODULES);
const { Client, StreamableHTTPClientTransport } = await import(new URL('index.mjs', clientDist).href);
const { StdioClientTransport } = await import(new URL('stdio.mjs', clientDist).href);

const WATCHDOG_MS = 90_000;

function parseArgs(argv) {
  const [transport, era, ...rest] = argv;
  const opts = { transport, era, roots: false, url: null, fixtures: [], everything: [], unknown: [], timeoutMs: 20_000, command: [] };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') {
      opts.command = rest.slice(i + 1);
      break;
    } else if (a === '--url') opts.url = rest[++i];
    else if (a === '--fixture') opts.fixtures.push(rest[++i]);
    else if (a === '--everything') opts.everything.push(rest[++i]);
    else if (a === '--unknown') opts.unknown.push(rest[++i]);
    else if (a === '--timeout-ms') opts.timeoutMs = Number(rest[++i]);
    else if (a === '--roots') opts.roots = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['http', 'ws', 'stdio'].includes(transport)) throw new Error(`transport must be http|ws|stdio, not ${transport}`);
  if (!['legacy', 'auto', '2026'].includes(era)) throw new Error(`era must be legacy|auto|2026, not ${era}`);
  if (transport !== 'stdio' && !opts.url) throw new Error('--url is required for http and ws');
  if (transport === 'stdio' && opts.command.length === 0) throw new Error('give the server command after --');
  return opts;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function describeError(e) {
  return {
    name: e?.constructor?.name ?? typeof e,
    code: e?.code ?? null,
    message: String(e?.message ?? e),
    data: e?.data ?? null,
  };
}

function textOf(result) {
  const first = (result?.content ?? []).find((c) => c.type === 'text');
  return first ? first.text : null;
}

async function step(name, extra, fn) {
  try {
    const out = await fn();
    emit({ step: name, ok: true, ...extra, ...out });
  } catch (e) {
    emit({ step: name, ok: false, ...extra, error: describeError(e) });
  }
}

/** Minimal MCP transport over Node 22's global WebSocket: subprotocol "mcp", one JSON-RPC message per text frame.
 * (@modelcontextprotocol/client 2.4.0 ships no WebSocket client transport.) */
class WebSocketClientTransport {
  constructor(url) {
    this.url = url;
    this.ws = null;
    this.onclose = undefined;
    this.onerror = undefined;
    this.onmessage = undefined;
    this._closed = false;
  }

  start() {
    if (this.ws) throw new Error('WebSocketClientTransport already started');
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, ['mcp']);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        if (ws.protocol !== 'mcp') {
          reject(new Error(`server chose subprotocol ${JSON.stringify(ws.protocol)}, expected "mcp"`));
          ws.close();
          return;
        }
        resolve();
      };
      ws.onerror = (ev) => {
        const err = new Error(`websocket error: ${ev?.message ?? 'unknown'}`);
        if (!opened) reject(err);
        else this.onerror?.(err);
      };
      ws.onclose = () => {
        if (!opened) reject(new Error('websocket closed before it opened'));
        this._fireClose();
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data !== 'string') {
          this.onerror?.(new Error('binary websocket frame ignored'));
          return;
        }
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch (e) {
          this.onerror?.(new Error(`bad JSON frame: ${e.message}`));
          return;
        }
        this.onmessage?.(msg);
      };
    });
  }

  async send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error('websocket is not open');
    this.ws.send(JSON.stringify(message));
  }

  async close() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    this._fireClose();
  }

  _fireClose() {
    if (this._closed) return;
    this._closed = true;
    this.onclose?.();
  }
}

function makeTransport(opts) {
  if (opts.transport === 'http') return new StreamableHTTPClientTransport(new URL(opts.url));
  if (opts.transport === 'ws') return new WebSocketClientTransport(opts.url);
  const [command, ...args] = opts.command;
  return new StdioClientTransport({ command, args, stderr: 'inherit' });
}

/** Call a tool with an onprogress callback. Reports the callback's count ("notifications") and how many
 * notifications/progress messages the transport delivered meanwhile ("wire_notifications"): the client
 * dispatches notifications in a microtask but responses synchronously, so progress that arrives in the
 * same read as the response is dropped by the SDK before the callback sees it. */
async function callWithProgress(client, name, args, counters, rq) {
  const seen = [];
  const wireBefore = counters.wireProgress;
  const r = await client.callTool({ name, arguments: args }, { ...rq(), onprogress: (p) => seen.push(p) });
  return {
    text: textOf(r),
    isError: r.isError ?? false,
    notifications: seen.length,
    progress: seen.map((p) => p.progress),
    wire_notifications: counters.wireProgress - wireBefore,
  };
}

/** Count inbound notifications/progress at the transport, ahead of the SDK's dispatch. */
function tapTransport(transport, counters) {
  const inner = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (message?.method === 'notifications/progress') counters.wireProgress += 1;
    inner?.call(transport, message, extra);
  };
}

async function fixtureSteps(client, prefix, counters, rq) {
  const tag = { prefix };
  await step('echo', tag, async () => {
    const r = await client.callTool({ name: `${prefix}echo`, arguments: { text: 'hi' } }, rq());
    return { text: textOf(r), isError: r.isError ?? false };
  });
  await step('progress', tag, () => callWithProgress(client, `${prefix}progress`, {}, counters, rq));
  await step('ask_name', tag, async () => {
    const before = counters.elicitations;
    const r = await client.callTool({ name: `${prefix}ask_name`, arguments: {} }, rq());
    return { text: textOf(r), elicitations: counters.elicitations - before };
  });
  await step('prompt_get', tag, async () => {
    const r = await client.getPrompt({ name: `${prefix}greet`, arguments: { who: 'Ada' } }, rq());
    const m = r.messages?.[0];
    return { text: m?.content?.type === 'text' ? m.content.text : null, messages: r.messages?.length ?? 0 };
  });
  await step('cancel', tag, async () => {
    const ac = new AbortController();
    const slow = client.callTool({ name: `${prefix}slow`, arguments: { seconds: 30 } }, { ...rq(), signal: ac.signal });
    // Let the slow call reach the gateway: a full round trip on the same client goes after it.
    const settled = slow.then(
      (r) => ({ outcome: 'resolved', text: textOf(r) }),
      (e) => ({ outcome: 'rejected', error: describeError(e), aborted: ac.signal.aborted }),
    );
    await client.callTool({ name: `${prefix}echo`, arguments: { text: 'before-cancel' } }, rq());
    await new Promise((r) => setTimeout(r, 300));
    ac.abort(new Error('cancelled by ts_client.mjs'));
    const res = await settled;
    // The connection must still be usable after the cancellation.
    const after = await client.callTool({ name: `${prefix}echo`, arguments: { text: 'after-cancel' } }, rq());
    return { ...res, cancelled: res.outcome === 'rejected' && res.aborted === true, after: textOf(after) };
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const watchdog = setTimeout(() => {
    emit({ step: 'watchdog', ok: false, error: { message: `session exceeded ${WATCHDOG_MS} ms` } });
    process.exit(3);
  }, WATCHDOG_MS);
  watchdog.unref();

  const mode = opts.era === '2026' ? { pin: '2026-07-28' } : opts.era;
  const capabilities = { elicitation: { form: {} }, ...(opts.roots ? { roots: {} } : {}) };
  const client = new Client({ name: 'bastion-e2e-ts', version: '0.0.1' }, { capabilities, versionNegotiation: { mode } });
  const counters = { elicitations: 0, wireProgress: 0, roots: 0 };
  client.setRequestHandler('elicitation/create', async () => {
    counters.elicitations += 1;
    return { action: 'accept', content: { name: 'Ada' } };
  });
  if (opts.roots) {
    client.setRequestHandler('roots/list', async () => {
      counters.roots += 1;
      return { roots: [{ uri: 'file:///tmp/bastion-e2e', name: 'e2e' }] };
    });
  }
  const rq = () => ({ timeout: opts.timeoutMs });

  const transport = makeTransport(opts);
  try {
    await client.connect(transport);
    tapTransport(transport, counters);
  } catch (e) {
    emit({ step: 'connect', ok: false, error: describeError(e) });
    emit({ step: 'done', ok: false });
    process.exit(1);
  }
  emit({
    step: 'connect',
    ok: true,
    era: client.getProtocolEra(),
    version: client.getNegotiatedProtocolVersion(),
    server: client.getServerVersion() ?? null,
  });

  await step('list_tools', {}, async () => {
    const r = await client.listTools(undefined, rq());
    return { names: r.tools.map((t) => t.name) };
  });
  for (const prefix of opts.fixtures) await fixtureSteps(client, prefix, counters, rq);
  await step('list_prompts', {}, async () => {
    const r = await client.listPrompts(undefined, rq());
    return { names: r.prompts.map((p) => p.name) };
  });
  let resourceUris = [];
  await step('list_resources', {}, async () => {
    const r = await client.listResources(undefined, rq());
    resourceUris = r.resources.map((x) => x.uri);
    return { uris: resourceUris };
  });
  if (opts.fixtures.length > 0) {
    await step('read_resource', {}, async () => {
      const r = await client.readResource({ uri: 'fixture://readme' }, rq());
      return { text: r.contents?.[0]?.text ?? null, uri: r.contents?.[0]?.uri ?? null };
    });
  }
  if (opts.everything.length > 0) {
    await step('everything_read', {}, async () => {
      const uri = resourceUris.find((u) => u.startsWith('demo://'));
      if (uri === undefined) throw new Error('no demo:// resource listed');
      const r = await client.readResource({ uri }, rq());
      return { uri, contents: r.contents?.length ?? 0, first_uri: r.contents?.[0]?.uri ?? null };
    });
  }
  for (const prefix of opts.everything) {
    await step('everything_echo', { prefix }, async () => {
      const r = await client.callTool({ name: `${prefix}echo`, arguments: { message: 'hello' } }, rq());
      return { text: textOf(r), isError: r.isError ?? false };
    });
    await step('everything_sum', { prefix }, async () => {
      const r = await client.callTool({ name: `${prefix}get-sum`, arguments: { a: 2, b: 3 } }, rq());
      return { text: textOf(r), isError: r.isError ?? false };
    });
    await step('everything_roots', { prefix }, async () => {
      const before = counters.roots;
      const r = await client.callTool({ name: `${prefix}get-roots-list`, arguments: {} }, rq());
      return { text: textOf(r), isError: r.isError ?? false, roots_requests: counters.roots - before };
    });
    await step('everything_progress', { prefix }, () =>
      callWithProgress(client, `${prefix}trigger-long-running-operation`, { duration: 0.3, steps: 3 }, counters, rq),
    );
  }
  for (const name of opts.unknown) {
    await step('unknown_tool', { name }, async () => {
      const r = await client.callTool({ name, arguments: {} }, rq());
      // Reaching here means the call did not fail at the protocol level.
      return { resolved: true, text: textOf(r), isError: r.isError ?? false };
    });
  }

  try {
    await client.close();
  } catch (e) {
    emit({ step: 'close', ok: false, error: describeError(e) });
  }
  emit({ step: 'done', ok: true });
  process.exit(0);
}

main().catch((e) => {
  emit({ step: 'fatal', ok: false, error: describeError(e) });
  process.exit(2);
});
