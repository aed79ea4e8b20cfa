/** Manifests several test files write to disk as users keep them. */

/** A Job whose classic sidecar (the Cloud SQL proxy) never exits, so the Job never completes: what migrate moves. */
export const CLASSIC_SIDECAR_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: export
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: export
          image: registry.example.com/export:1.8.0
        - name: cloud-sql-proxy
          image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0
`;
