// An OTLP/HTTP sink for the tracing phase of `npm run bench` (bench/phase-tracing.mjs), in its own process so that
// receiving the gateway's exports costs the gateway's measurement nothing: it accepts every POST to /v1/traces,
// reads and discards the body, and answers 200 with an empty ExportTraceServiceResponse (an empty protobuf message).
// GET /stats tells how many exports and bytes arrived (the phase checks that spans were really exported).
//
//   node bench/otlp-sink.mjs      prints `READY <url of /v1/traces>`; stops on SIGTERM
import { createServer } from 'node:http';

const stats = { exports: 0, bytes: 0, other: 0 };
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/v1/traces') {
      stats.exports++;
      stats.bytes += bytes;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' });
      res.end();
    } else {
      stats.other++;
      res.writeHead(404);
      res.end();
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}/v1/traces\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
