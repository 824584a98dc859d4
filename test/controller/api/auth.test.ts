import { expect } from 'chai';
import { newCredential } from '../../../controller/api/auth.js';

describe('controller/api host credentials', () => {
  it('are 32 random bytes (43 base64url characters), each drawn once, across refills of the random block', () => {
    const credentials = Array.from({ length: 1000 }, newCredential);
    for (const c of credentials) expect(Buffer.from(c, 'base64url')).to.have.length(32);
    expect(credentials.every((c) => /^[A-Za-z0-9_-]{43}$/.test(c))).to.equal(true);
    expect(new Set(credentials).size).to.equal(credentials.length);
    // No all-zero credential: a block's bytes are wiped once handed out, never handed out again.
    expect(credentials).to.not.include(Buffer.alloc(32).toString('base64url'));
  });
});
