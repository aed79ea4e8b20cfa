import { asArray, asString, isObject, type KubeObject } from '../model/kube.js';

export interface ControllerRef {
  kind: string;
  name: string;
  uid: string;
}

/** The owner reference marked `controller: true` (at most one per object, apimachinery validation). */
export function controllerOf(object: KubeObject): ControllerRef | undefined {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  for (const reference of asArray(metadata.ownerReferences)) {
    if (!isObject(reference) || reference.controller !== true) continue;
    const uid = asString(reference.uid);
    if (uid) return { kind: asString(reference.kind) ?? '', name: asString(reference.name) ?? '', uid };
  }
  return undefined;
}

export function uidOf(object: KubeObject): string | undefined {
  return isObject(object.metadata) ? asString(object.metadata.uid) || undefined : undefined;
}

/**
 * Decides which objects are audited: each chain of controllers once, at its topmost listed object. A Pod of a
 * ReplicaSet of a Deployment is covered by the Deployment, a Job by its CronJob; a bare Pod or Job, or one whose
 * controller is a kind podpatterns does not list (an operator's custom resource, a Node for static pods) is
 * audited itself. Controllers must be remembered before the objects they control are asked about.
 */
export class OwnerIndex {
  private readonly listed = new Set<string>();

  /** Records a listed object that may control others. */
  remember(object: KubeObject): void {
    const uid = uidOf(object);
    if (uid) this.listed.add(uid);
  }

  /**
   * The listed controller audited in this object's place, or undefined when the object is audited itself. A
   * controller that was not listed (gone, or created after its kind was listed) leaves the object on its own.
   */
  coveredBy(object: KubeObject): ControllerRef | undefined {
    const controller = controllerOf(object);
    return controller && this.listed.has(controller.uid) ? controller : undefined;
  }
}
