import { describe, expect, it } from 'vitest';
import { allowed, denied, reviewResponse, withWarnings } from '../../src/admission/response.js';
import { serializeReview } from '../../src/server/admission-routes.js';

describe('serializeReview', () => {
  const uids = ['705ab4f5-6393-11e8-b7cc-42010a800002', 'a"quote', 'back\\slash', 'line\nbreak', '\u2028\u2029', 'tab\t\u0000', 'ü'];

  it.each(uids)('writes the plain allowance for uid %j exactly as JSON.stringify of the review would', (uid) => {
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const) {
      const text = serializeReview(apiVersion, uid, allowed());
      expect(text).toBe(JSON.stringify(reviewResponse(apiVersion, uid, allowed())));
      expect(JSON.parse(text)).toEqual({ apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true } });
    }
  });

  it('writes every other answer in full', () => {
    for (const response of [allowed('fine'), denied('no'), withWarnings(allowed(), 'careful')]) {
      expect(JSON.parse(serializeReview('admission.k8s.io/v1', 'u', response))).toEqual(reviewResponse('admission.k8s.io/v1', 'u', response));
    }
  });
});
