// A proxyless gRPC client: resolves xds:///<service> through the xDS server named by GRPC_XDS_BOOTSTRAP_CONFIG
// (Mesh's gRPC port) and calls mesh.interop.Whoami/Who. Reads commands from stdin, one per line:
//   call <n>   make n calls one after another; print {"ok": {"<instance>": count}, "errors": {"<message>": count}}
//   quit       exit
// Prints {"ready": true} first. The channel stays open between commands, so xDS updates arrive in between.
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import xds from "@grpc/grpc-js-xds";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

xds.register();
const here = dirname(fileURLToPath(import.meta.url));
const proto = grpc.loadPackageDefinition(protoLoader.loadSync(join(here, "whoami.proto")));
const service = process.argv[2];
if (!service) {
  console.error("usage: node client.mjs <service>");
  process.exit(2);
}
const client = new proto.mesh.interop.Whoami(`xds:///${service}`, grpc.credentials.createInsecure());

function who() {
  return new Promise((resolve) => {
    client.Who({}, { deadline: Date.now() + 5000 }, (err, reply) => resolve(err ? { error: err.details || err.message } : { instance: reply.instance }));
  });
}

console.log(JSON.stringify({ ready: true }));
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === "quit") break;
  if (command === "call") {
    const ok = {};
    const errors = {};
    for (let i = 0; i < Number(arg); i++) {
      const r = await who();
      if (r.error) errors[r.error] = (errors[r.error] ?? 0) + 1;
      else ok[r.instance] = (ok[r.instance] ?? 0) + 1;
    }
    console.log(JSON.stringify({ ok, errors }));
  } else {
    console.log(JSON.stringify({ unknown: line }));
  }
}
client.close();
process.exit(0);
