// Decodes listeners the way gRPC's xDS client does (@grpc/grpc-js-xds) and prints one line per listener:
// "ok <name>" or "error <message>". Input on stdin: one base64-encoded envoy.config.listener.v3.Listener per line.
// Argument: the folder holding node_modules with @grpc/grpc-js-xds.
'use strict';
const path = require('path');
const apiDir = process.argv[2];
const xdsDir = path.join(apiDir, 'node_modules/@grpc/grpc-js-xds/build/src');
// register() installs the HTTP filters (router, fault injection, RBAC) a client validates listeners against.
require(xdsDir).register();
const { ListenerResourceType } = require(path.join(xdsDir, 'xds-resource-type/listener-resource-type.js'));
const context = { server: {}, bootstrap: { certificateProviders: {} } };
let input = '';
process.stdin.on('data', chunk => { input += chunk; });
process.stdin.on('end', () => {
  for (const line of input.split('\n').filter(l => l.trim().length > 0)) {
    const resource = { type_url: 'type.googleapis.com/envoy.config.listener.v3.Listener', value: Buffer.from(line.trim(), 'base64') };
    try {
      const result = ListenerResourceType.get().decode(context, resource);
      console.log(result.error ? `error ${result.error}` : `ok ${result.name}`);
    } catch (e) {
      console.log(`error ${e.message}`);
    }
  }
});
