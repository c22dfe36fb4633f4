// Helpers shared by the Node interop scripts, which drive the npm `consul` client (CommonJS, imported from ESM)
// against a Mesh agent at MESH_HTTP_ADDR=host:port. Each script prints its steps, then "PASS <script>", or
// "FAIL <script>: <reason>" plus the last HTTP exchanges on stderr and exits 1.
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { inspect } from "node:util";

import Consul from "consul";

export const SCRIPT = path.basename(process.argv[1] ?? "script");

/** An expectation about the agent's behaviour did not hold. */
export class Failure extends Error {}

const exchanges = [];
function record(line) {
  exchanges.push(line);
  if (exchanges.length > 10) exchanges.shift();
}

function short(value, limit = 400) {
  if (value === undefined || value === null) return String(value);
  let text;
  if (Buffer.isBuffer(value)) text = value.toString("utf8");
  else if (typeof value === "string") text = value;
  else text = JSON.stringify(value) ?? inspect(value);
  return JSON.stringify(text.length <= limit ? text : `${text.slice(0, limit)}...(${text.length} chars)`);
}

function pickHeaders(headers) {
  const out = {};
  for (const name of ["content-type", "x-consul-index", "x-consul-knownleader"]) {
    if (headers?.[name] !== undefined) out[name] = headers[name];
  }
  return JSON.stringify(out);
}

/** { host, port } from MESH_HTTP_ADDR. */
export function addr() {
  const value = process.env.MESH_HTTP_ADDR ?? "";
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(value);
  if (!m) throw new Failure(`MESH_HTTP_ADDR must be host:port of a Mesh agent, got ${JSON.stringify(value)}`);
  return { host: m[1], port: Number(m[2]) };
}

export function baseUrl() {
  const { host, port } = addr();
  return `http://${host}:${port}`;
}

/** A consul client for the agent, with its HTTP exchanges recorded for failure reports. */
export function client(options = {}) {
  const { host, port } = addr();
  const consul = new Consul({ host: host.replace(/^\[|\]$/g, ""), port, ...options });
  consul._ext("onResponse", (request, next) => {
    const req = request.req ?? {};
    const res = request.res;
    record(
      `${req.method ?? request.opts?.method ?? "?"} ${req.path ?? "?"} body=${short(request.body)} -> ` +
        (res ? `${res.statusCode} ${pickHeaders(res.headers)} body=${short(res.body)}` : `error ${request.err?.message}`),
    );
    next();
  });
  return consul;
}

/** Options fragment that makes a client call resolve to [response, data] (papi needs an EventEmitter ctx). */
export function withResponse() {
  const ctx = new EventEmitter();
  ctx.includeResponse = true;
  return { ctx };
}

/**
 * The exact decoded body of a client call. The npm client resolves a JSON `false` body to undefined (papi's
 * pipeline keeps a falsy result only when it is wrapped with the response), so calls that may answer `false`
 * go through here: call receives extra options to spread into its own.
 */
export async function exact(call) {
  const [, data] = await call(withResponse());
  return data;
}

/** Raw HTTP for what the client lacks; returns { status, headers, text, json() }. */
export async function raw(method, pathAndQuery, body) {
  const response = await fetch(baseUrl() + pathAndQuery, { method, body });
  const text = await response.text();
  const headers = Object.fromEntries(response.headers.entries());
  record(`${method} ${pathAndQuery} body=${short(body)} -> ${response.status} ${pickHeaders(headers)} body=${short(text)}`);
  return {
    status: response.status,
    headers,
    text,
    json() {
      try {
        return JSON.parse(text);
      } catch {
        throw new Failure(`${method} ${pathAndQuery}: body is not JSON: ${short(text)}`);
      }
    },
  };
}

/** A key prefix unique to this run, so scripts may share an agent. */
export function prefix(area) {
  return `interop-node/${area}/${randomUUID().slice(0, 8)}`;
}

export const b64 = (value) => Buffer.from(value).toString("base64");

export function step(message) {
  console.log(`- ${message}`);
}

export function check(condition, message) {
  if (!condition) throw new Failure(message);
}

export function eq(actual, expected, what) {
  const a = JSON.stringify(actual, bigintSafe);
  const e = JSON.stringify(expected, bigintSafe);
  if (a !== e) throw new Failure(`${what}: expected ${e}, got ${a}`);
}

function bigintSafe(_key, value) {
  return typeof value === "bigint" ? `${value}n` : value;
}

/** X-Consul-Index of a response as a BigInt; it must be a positive integer. */
export function indexOf(res, what) {
  const header = res?.headers?.["x-consul-index"];
  check(header !== undefined, `${what}: response has no X-Consul-Index header`);
  check(/^\d+$/.test(header), `${what}: X-Consul-Index ${JSON.stringify(header)} is not an integer`);
  const index = BigInt(header);
  check(index > 0n, `${what}: X-Consul-Index must be > 0, got ${header}`);
  return index;
}

/** Awaits promise and returns the error it rejects with; fails if it resolves. */
export async function rejects(promise, what) {
  let value;
  try {
    value = await promise;
  } catch (err) {
    return err;
  }
  throw new Failure(`${what}: expected an error, but the call resolved to ${short(value)}`);
}

/** Runs main; exits 0 on success, 1 with a clear message on any failure. */
export async function run(main) {
  try {
    await main();
  } catch (err) {
    const reason = err instanceof Failure ? err.message : `unexpected ${err?.stack ?? inspect(err)}`;
    console.error(`FAIL ${SCRIPT}: ${reason}`);
    if (err?.response) {
      console.error(`  response: ${err.response.statusCode} body=${short(err.response.body)}`);
    }
    if (exchanges.length) {
      console.error("last HTTP exchanges (oldest first):");
      for (const line of exchanges) console.error(`  ${line}`);
    }
    process.exit(1);
  }
  console.log(`PASS ${SCRIPT}`);
  process.exit(0); // keep-alive sockets would otherwise hold the process open
}
