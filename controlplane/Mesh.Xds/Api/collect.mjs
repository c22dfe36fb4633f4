// Copies the Envoy API protos Mesh compiles, and every file they import, out of @grpc/grpc-js-xds's bundled
// dependencies into an output folder, one sub-folder per proto root, and writes the list MSBuild hands to protoc.
//
//   node collect.mjs <out-dir>
//
// Writes <out-dir>/<root>/<path> for each file and <out-dir>/protos.txt with one "<root>|<path>" line per file.
// google/protobuf/* is left to protoc's own include folder (Google.Protobuf ships those types).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const deps = join(here, "node_modules", "@grpc", "grpc-js-xds", "deps");
const roots = ["envoy-api", "xds", "protoc-gen-validate", "googleapis"];

// The messages Mesh builds or reads: ADS and its resources, the filters and extensions Mesh's listeners and
// clusters name in typed configs, and the bootstrap the CLI prints.
const wanted = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/service/discovery/v3/discovery.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  "envoy/extensions/filters/network/rbac/v3/rbac.proto",
  "envoy/extensions/filters/http/rbac/v3/rbac.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/transport_sockets/tls/v3/secret.proto",
  "envoy/config/trace/v3/zipkin.proto",
  "envoy/config/trace/v3/opentelemetry.proto",
  "envoy/config/bootstrap/v3/bootstrap.proto",
  "envoy/extensions/access_loggers/file/v3/file.proto",
  "envoy/extensions/clusters/aggregate/v3/cluster.proto",
  "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
];

const out = process.argv[2];
if (!out) {
  console.error("usage: node collect.mjs <out-dir>");
  process.exit(2);
}
if (!existsSync(deps)) {
  console.error(`collect.mjs: ${deps} is missing; run npm ci in ${here}`);
  process.exit(1);
}

function locate(path) {
  for (const root of roots) {
    if (existsSync(join(deps, root, path))) return root;
  }
  return null;
}

const seen = new Map(); // path -> root
const queue = [...wanted];
while (queue.length > 0) {
  const path = queue.pop();
  if (seen.has(path) || path.startsWith("google/protobuf/")) continue;
  const root = locate(path);
  if (root === null) {
    console.error(`collect.mjs: ${path} is in none of ${roots.join(", ")}`);
    process.exit(1);
  }
  seen.set(path, root);
  let text = readFileSync(join(deps, root, path), "utf8");
  for (const m of text.matchAll(/^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm)) queue.push(m[1]);
  // The bundled validate.proto predates StringRules.ignore_empty; the option is a validation hint Mesh never reads.
  text = text.replace(/[ ,]*ignore_empty:\s*true/g, "");
  const target = join(out, root, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
}

const lines = [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([path, root]) => `${root}|${path}`);
writeFileSync(join(out, "protos.txt"), lines.join("\n") + "\n");
console.log(`collect.mjs: ${lines.length} protos in ${out}`);
