import { DockerRuntime } from '/work/main/src/adapters/docker/docker-runtime.ts';
import Docker from 'dockerode';
const docker = new Docker({ socketPath: '/tmp/eng2/d.sock' });
const log = { debug(){}, info(){}, warn(o:any,m:any){console.log('warn',m,JSON.stringify(o))}, error(){}, child(){return log} } as any;
const rt = new DockerRuntime({ docker, workspace: '/tmp/wsx', logger: log, resolve: () => ({ kind: 'container', image: { kind: 'image', name: 'reprod-test/busybox:3d9f2889d678' }, settings: { network: 'none', env: {} }, reason: 't' }) });
const stage = { name: 's', group: 's', cmd: 'echo started; sleep 300', wdir: '.', deps: [], params: [], outs: [], frozen: false, alwaysChanged: false, source: { file: 'dvc.yaml' } } as any;
const ac = new AbortController();
const prepared = await rt.prepare(stage, ac.signal);
const t0 = Date.now();
setTimeout(() => { console.log('aborting at', Date.now()-t0); ac.abort(); }, 15000);
try {
  const r = await rt.run({ stage, prepared, workspace: '/tmp/wsx', runId: 'x', env: {}, log: { write: (c: string) => console.log('out', c.trim(), Date.now()-t0) }, signal: ac.signal });
  console.log('result', JSON.stringify(r.outcome), Date.now()-t0);
} catch (e) { console.log('threw', (e as Error).message, Date.now()-t0); }
process.exit(0);
