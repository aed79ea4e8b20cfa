import { asString } from '../model/kube.js';
import { bind, celText, escapeRe2, record, str, strList } from '../cel/expr.js';
import type { Rule, RuleFinding, RuleOptionSpecs } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type UnpinnedFacts = {
  /** '' for an image without a tag. */
  tag: string;
};

const OPTIONS = {
  floatingTags: {
    type: 'string[]',
    default: [],
    description: 'Tags besides `latest` that move and count as unpinned, e.g. ["master", "main", "canary", "alpine"].',
  },
} satisfies RuleOptionSpecs;

/** An image reference that names no version runs whatever the registry serves when a node pulls it. */
export const unpinnedImage: Rule<UnpinnedFacts, typeof OPTIONS> = {
  id: 'unpinned-image',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A container image has no tag or the `latest` tag, so what runs changes without a change to the manifest.',
  description:
    'An image with no tag means `:latest`, and `:latest` moves whenever someone pushes. Each node pulls it when ' +
    'it starts the pod (the pull policy defaults to `Always` for `latest`), so replicas of one workload can run ' +
    'different code, a node restart can upgrade a sidecar nobody touched, and rolling back the manifest does not ' +
    'bring the old image back. This applies to init containers and sidecars as much as to the app. A digest ' +
    '(`image@sha256:…`, alone or after a tag) pins the image. Floating branch tags such as `main` or `alpine` ' +
    'move too; list the ones your policy forbids in the `floatingTags` option. Fix: use a version tag or a digest.',
  options: OPTIONS,
  example: {
    bad: `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  initContainers:
    - name: wait-for-db
      image: busybox
      command: ["sh", "-c", "until nc -z db 5432; do sleep 2; done"]
  containers:
    - name: app
      image: registry.example.com/web:latest
`,
    fixed: `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  initContainers:
    - name: wait-for-db
      image: busybox:1.37.0
      command: ["sh", "-c", "until nc -z db 5432; do sleep 2; done"]
  containers:
    - name: app
      image: registry.example.com/web:1.4.2
`,
  },
  problem: ({ tag }) =>
    tag === ''
      ? 'has no image tag, so it runs the moving latest'
      : tag === 'latest'
        ? 'uses the moving latest tag: replicas may differ'
        : `uses floating tag '${tag}': replicas may differ`,
  evaluate({ pods, options }) {
    const floating = new Set(options.floatingTags);
    const findings: RuleFinding<UnpinnedFacts>[] = [];
    for (const pod of pods) {
      for (const container of pod.containers) {
        const image = asString(container.spec.image)?.trim();
        if (!image) continue;
        // The container's image parsed once for every rule (parseImage trims, as here).
        const { repository, tag, digest } = container.image!;
        if (digest !== undefined) continue;
        const problem =
          tag === undefined || tag === ''
            ? `has no tag, so it means \`${repository}:latest\``
            : tag === 'latest'
              ? 'uses the `latest` tag'
              : floating.has(tag)
                ? `uses \`${tag}\`, a tag your policy lists as floating`
                : undefined;
        if (!problem) continue;
        const name = container.name;
        findings.push({
          container: name,
          path: `${container.path}.image`,
          facts: { tag: tag ?? '' },
          message:
            `container '${name}' image \`${image}\` ${problem}: the tag moves, so each node runs whatever it pointed to when that node ` +
            `pulled it; replicas can run different code and rolling back the manifest does not bring the previous image back.`,
          fix: `Pin the image of '${name}' (${container.path}.image) to a version tag or a digest, e.g. \`${repository}:<version>\` or \`${repository}@sha256:<digest>\`.`,
        });
      }
    }
    return findings;
  },
  cel: ({ options }) => {
    // The floating tags are baked into the expression: recompile when the policy changes them.
    const floating = strList(options.floatingTags);
    const parsed = bind('img', "c.spec.?image.orValue('').trim()",
      `img == '' || img.indexOf('@') >= 0 ? [] : ${bind('colon', "img.lastIndexOf(':') > img.lastIndexOf('/') ? img.lastIndexOf(':') : -1",
        `[${record({ name: 'c.name', path: "c.path + '.image'", cpath: 'c.path', image: 'img', repository: 'colon >= 0 ? img.substring(0, colon) : img', tag: "colon >= 0 ? img.substring(colon + 1) : ''" })}]`)}`);
    // One regular expression per image: no digest, and no tag after the last '/', or `latest`, or a floating tag.
    const tags = ['latest', ...options.floatingTags].map(escapeRe2).join('|');
    const unpinned = `^(?:[^@]*/[^/:@]*|[^/:@]+|[^@]*:(?:${tags}))$`;
    return {
      candidate: (pod) => `(${pod.initSpecs} + ${pod.containerSpecs}).exists(c, c.?image.orValue('').trim().matches(${str(unpinned)}))`,
      checks: [
        {
          findings: (pod) =>
            `${pod.containers}.map(c, ${parsed}).filter(e, size(e) > 0).map(e, e[0]).filter(e, e.tag == '' || e.tag == 'latest' || e.tag in ${floating})`,
          key: (f) => `${f}.name + '/' + ${f}.path`,
          text: (f) => {
            const problem = `${f}.tag == '' ? 'has no tag, so it means \`' + ${f}.repository + ':latest\`' : ${f}.tag == 'latest' ? 'uses the \`latest\` tag' : 'uses \`' + ${f}.tag + '\`, a tag your policy lists as floating'`;
            return celText`container '${`${f}.name`}' image \`${`${f}.image`}\` ${problem}: the tag moves, so each node runs whatever it pointed to when that node pulled it; replicas can run different code and rolling back the manifest does not bring the previous image back. Fix: Pin the image of '${`${f}.name`}' (${`${f}.path`}) to a version tag or a digest, e.g. \`${`${f}.repository`}:<version>\` or \`${`${f}.repository`}@sha256:<digest>\`.`;
          },
        },
      ],
    };
  },
};
