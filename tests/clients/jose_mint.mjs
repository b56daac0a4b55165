// Mints the tokens a Supabase project with asymmetric signing keys would issue, plus forged
// variants, with node's `jose` (pinned in package.json) and node:crypto — an implementation
// independent of assistantd's. Prints one JSON object:
//   {"jwks": …, "jwks_rotated": …, "tokens": {name: {"token", "accept"}}}
// `accept` says whether a server verifying with `jwks` (or, for rotated_*, `jwks_rotated`)
// must accept it.
//   node jose_mint.mjs <sub-uuid> <issuer>
import { createSign, createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, base64url } from 'jose';

const [sub, iss] = process.argv.slice(2);
if (!sub || !iss) {
  console.error('usage: node jose_mint.mjs <sub> <issuer>');
  process.exit(2);
}
const now = Math.floor(Date.now() / 1000);
const claims = { sub, aud: 'authenticated', role: 'authenticated', iss, email: 'jose@example.com',
  app_metadata: { provider: 'email', providers: ['email'] }, iat: now, exp: now + 3600 };

async function pair(alg, options = {}) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return { publicKey, privateKey, jwk: await exportJWK(publicKey) };
}
const es1 = await pair('ES256');
const es2 = await pair('ES256');
const rs1 = await pair('RS256', { modulusLength: 2048 });
const attacker = await pair('ES256');
const p384 = await pair('ES384');
const pub = (p, kid, alg) => ({ ...p.jwk, kid, alg, use: 'sig', key_ops: ['verify'], ext: true });

const jwks = { keys: [pub(es1, 'es-1', 'ES256'), pub(rs1, 'rs-1', 'RS256'), pub(p384, 'ec-384', 'ES384')] };
const jwks_rotated = { keys: [...jwks.keys, pub(es2, 'es-2', 'ES256')] };

const sign = (key, header, body = claims) =>
  new SignJWT(body).setProtectedHeader({ typ: 'JWT', ...header }).sign(key);
const b64 = (o) => base64url.encode(JSON.stringify(o));
// A token whose signature bytes we choose.
function raw(header, signer, body = claims) {
  const input = `${b64(header)}.${b64(body)}`;
  return `${input}.${base64url.encode(signer(input))}`;
}
// An ES256 signature in DER (ASN.1) form instead of JWS's raw R||S.
const { privateKey: derKey, publicKey: derPub } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const derJwk = { ...derPub.export({ format: 'jwk' }), kid: 'es-der', alg: 'ES256', use: 'sig' };
jwks.keys.push(derJwk);
jwks_rotated.keys.push(derJwk);
const der = (input) => {
  const s = createSign('SHA256');
  s.update(input);
  return s.sign({ key: derKey, dsaEncoding: 'der' });
};
const ieee = (input) => {
  const s = createSign('SHA256');
  s.update(input);
  return s.sign({ key: derKey, dsaEncoding: 'ieee-p1363' });
};
const hmac = (secret) => (input) => createHmac('sha256', secret).update(input).digest();
const es1Pem = es1.publicKey.export ? es1.publicKey.export({ type: 'spki', format: 'pem' }) : '';
const rsPem = rs1.publicKey.export ? rs1.publicKey.export({ type: 'spki', format: 'pem' }) : '';

const tokens = {
  es256: { token: await sign(es1.privateKey, { alg: 'ES256', kid: 'es-1' }), accept: true },
  rs256: { token: await sign(rs1.privateKey, { alg: 'RS256', kid: 'rs-1' }), accept: true },
  es256_p1363_node: { token: raw({ alg: 'ES256', kid: 'es-der', typ: 'JWT' }, ieee), accept: true },
  es256_der_signature: { token: raw({ alg: 'ES256', kid: 'es-der', typ: 'JWT' }, der), accept: false },
  wrong_kid: { token: await sign(es1.privateKey, { alg: 'ES256', kid: 'not-a-kid' }), accept: false },
  wrong_key_known_kid: { token: await sign(attacker.privateKey, { alg: 'ES256', kid: 'es-1' }), accept: false },
  wrong_curve_es384: { token: await sign(p384.privateKey, { alg: 'ES384', kid: 'ec-384' }), accept: false },
  alg_mismatch_rs_as_es: { token: await sign(rs1.privateKey, { alg: 'RS256', kid: 'es-1' }), accept: false },
  hs256_with_ec_public_pem: { token: raw({ alg: 'HS256', kid: 'es-1', typ: 'JWT' }, hmac(es1Pem)), accept: false },
  hs256_with_ec_public_jwk: { token: raw({ alg: 'HS256', kid: 'es-1', typ: 'JWT' }, hmac(JSON.stringify(jwks.keys[0]))), accept: false },
  hs256_with_rsa_public_pem: { token: raw({ alg: 'HS256', typ: 'JWT' }, hmac(rsPem)), accept: false },
  alg_none: { token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, accept: false },
  embedded_jwk: { token: await sign(attacker.privateKey, { alg: 'ES256', kid: 'es-1', jwk: pub(attacker, 'es-1', 'ES256') }), accept: false },
  jku_header: { token: await sign(attacker.privateKey, { alg: 'ES256', kid: 'evil', jku: 'http://127.0.0.1:1/evil.json' }), accept: false },
  expired: { token: await sign(es1.privateKey, { alg: 'ES256', kid: 'es-1' }, { ...claims, iat: now - 7200, exp: now - 3600 }), accept: false },
  tampered_payload: { token: (await sign(es1.privateKey, { alg: 'ES256', kid: 'es-1' })).replace(/\.[^.]+\./, `.${b64({ ...claims, app_metadata: { role: 'admin' } })}.`), accept: false },
  rotated_es2: { token: await sign(es2.privateKey, { alg: 'ES256', kid: 'es-2' }), accept: false },
};
// Valid tokens no server has seen yet, for checks made after the key source changed.
for (const name of ['fresh_1', 'fresh_2', 'fresh_3']) {
  tokens[`es256_${name}`] = { token: await sign(es1.privateKey, { alg: 'ES256', kid: 'es-1' }, { ...claims, jti: name }), accept: true, later: true };
}

console.log(JSON.stringify({ jwks, jwks_rotated, tokens }));
