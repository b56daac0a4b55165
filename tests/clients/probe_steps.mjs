// The step runner the client probes share: one "ok"/"FAIL" line per step, then a summary
// line "<name>: N passed, M failed" and the exit code (1 on any failure).
let passed = 0;
let failed = 0;

export async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.message ? e.message : e}`);
  }
}

export function check(cond, message) {
  if (!cond) throw new Error(message);
}

export function finish(name) {
  console.log(`${name}: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
