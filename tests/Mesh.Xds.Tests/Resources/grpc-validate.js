// Decodes xDS resources the way a proxyless gRPC client does, with @grpc/grpc-js-xds's own resource types, and prints
// one JSON line per resource: {"name": ..., "error": ...} (error absent when gRPC accepts it).
//
//   node grpc-validate.js <grpc-js-xds package dir> <input file>
//
// The input has one resource per line: {"type_url": "...", "value": "<base64 of the message>"}.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const [pkg, input] = process.argv.slice(2);
const types = join(pkg, "build", "src", "xds-resource-type");
const byUrl = {
  "type.googleapis.com/envoy.config.cluster.v3.Cluster": require(join(types, "cluster-resource-type.js")).ClusterResourceType.get(),
  "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment": require(join(types, "endpoint-resource-type.js")).EndpointResourceType.get(),
  "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": require(join(types, "route-config-resource-type.js")).RouteConfigurationResourceType.get(),
};
// What a client's bootstrap would hold: no certificate providers (Mesh's proxyless clusters are plaintext).
const context = { server: { serverUri: "mesh" }, bootstrap: { certificateProviders: {} } };

for (const line of readFileSync(input, "utf8").split("\n")) {
  if (line.trim() === "") continue;
  const { type_url, value } = JSON.parse(line);
  const type = byUrl[type_url];
  if (!type) {
    console.log(JSON.stringify({ name: "", error: `no decoder for ${type_url}` }));
    continue;
  }
  try {
    const result = type.decode(context, { type_url, value: Buffer.from(value, "base64") });
    console.log(JSON.stringify({ name: result.name, error: result.error }));
  } catch (e) {
    console.log(JSON.stringify({ name: "", error: String(e && e.message || e) }));
  }
}
