import { RefineryError } from "../../core/errors.js";

/**
 * The official MuJoCo WebAssembly module, loaded lazily: importing refinery never loads it;
 * the first MuJoCo env needs `await loadMujoco()` (or `await prepareEnv(id)`) once per
 * thread, after which `make("HalfCheetah-v5")` is synchronous like every other env.
 *
 * Two official builds by Google DeepMind are known: `mujoco-js` (MuJoCo 3.3.8, the default:
 * about twice as fast on contact-rich models here) and `@mujoco/mujoco` (MuJoCo 3.14, whose
 * transitions equal Gymnasium-on-mujoco-3.14's through contacts). `REFINERY_MUJOCO` picks
 * the package in Node; a factory passed to `loadMujoco` picks anything with the same API.
 *
 * Only the handful of calls the envs use are typed here, structurally.
 */

/** A typed-array view into wasm memory; read it again after a call that may grow memory. */
type View = Float64Array;

export interface MjOptionLike {
  timestep: number;
}

export interface MjModelLike {
  readonly nq: number;
  readonly nv: number;
  readonly nu: number;
  readonly na: number;
  readonly nbody: number;
  readonly ngeom: number;
  readonly nsite: number;
  readonly opt: MjOptionLike;
  readonly geom_type: Int32Array;
  readonly geom_size: View;
  readonly geom_rgba: Float32Array;
  readonly geom_bodyid: Int32Array;
  readonly actuator_ctrlrange: View;
  readonly actuator_ctrllimited: Uint8Array;
  readonly qpos0: View;
  delete(): void;
}

export interface MjDataLike {
  time: number;
  readonly qpos: View;
  readonly qvel: View;
  readonly act: View;
  readonly ctrl: View;
  readonly qacc_warmstart: View;
  readonly xpos: View;
  readonly geom_xpos: View;
  readonly geom_xmat: View;
  readonly site_xpos: View;
  readonly cfrc_ext: View;
  readonly qfrc_constraint: View;
  delete(): void;
}

export interface MujocoModule {
  MjModel: { loadFromXML?(path: string): MjModelLike; from_xml_string?(xml: string): MjModelLike };
  MjData: new (model: MjModelLike) => MjDataLike;
  FS?: {
    mkdir(path: string): void;
    writeFile(path: string, data: string): void;
    unlink(path: string): void;
    analyzePath?(path: string): { exists: boolean };
  };
  mj_step(m: MjModelLike, d: MjDataLike): void;
  mj_forward(m: MjModelLike, d: MjDataLike): void;
  mj_resetData(m: MjModelLike, d: MjDataLike): void;
  mj_rnePostConstraint(m: MjModelLike, d: MjDataLike): void;
  mj_name2id(m: MjModelLike, type: number, name: string): number;
  mj_versionString(): string;
}

/** Something that returns the module: the package's default export, or a user's own import of it. */
export type MujocoFactory = () => Promise<MujocoModule>;

/**
 * The package names, in variables on purpose: a literal `import("mujoco-js")` would make
 * every bundler of refinery's core inline the 11 MB module (and its Node-only branch). A
 * browser app imports it itself and hands it over: `loadMujoco(() => import("mujoco-js").then((m) => m.default()))`.
 */
export const MUJOCO_PACKAGES = ["mujoco-js", "@mujoco/mujoco"] as const;
export type MujocoPackage = (typeof MUJOCO_PACKAGES)[number];

/** The package the default loader imports: `REFINERY_MUJOCO` if set (Node), else `mujoco-js`. */
export function mujocoPackage(): MujocoPackage {
  const env = typeof process !== "undefined" ? process.env?.REFINERY_MUJOCO : undefined;
  if (env === undefined || env === "") return MUJOCO_PACKAGES[0];
  if ((MUJOCO_PACKAGES as readonly string[]).includes(env)) return env as MujocoPackage;
  throw new RefineryError(
    "mujoco_package",
    `REFINERY_MUJOCO=${env} is not a known MuJoCo WebAssembly package`,
    `set it to one of ${MUJOCO_PACKAGES.join(", ")}, or unset it for ${MUJOCO_PACKAGES[0]}`,
  );
}

let loaded: MujocoModule | null = null;
let loading: Promise<MujocoModule> | null = null;

async function defaultFactory(): Promise<MujocoModule> {
  const PACKAGE = mujocoPackage();
  let mod: { default: (args?: object) => Promise<unknown> };
  try {
    mod = (await import(/* @vite-ignore */ PACKAGE)) as { default: (args?: object) => Promise<unknown> };
  } catch (e) {
    throw new RefineryError(
      "mujoco_unavailable",
      `the MuJoCo WebAssembly module (${PACKAGE}) could not be imported: ${e instanceof Error ? e.message : String(e)}`,
      `install it (npm install ${PACKAGE}), or in a browser pass your own import: loadMujoco(() => import("${PACKAGE}").then((m) => m.default()))`,
    );
  }
  return (await mod.default()) as MujocoModule;
}

/**
 * Loads the MuJoCo module once (later calls return the same promise). `factory` replaces
 * the default import of `mujocoPackage()`, e.g. for a browser bundle or another build.
 */
export function loadMujoco(factory?: MujocoFactory): Promise<MujocoModule> {
  if (loaded) return Promise.resolve(loaded);
  if (!loading) {
    loading = (factory ?? defaultFactory)().then(
      (m) => {
        loaded = m;
        return m;
      },
      (e: unknown) => {
        loading = null; // a failed load can be retried (e.g. with a factory)
        throw e;
      },
    );
  }
  return loading;
}

/** Whether `loadMujoco()` has finished, so MuJoCo envs can be made synchronously. */
export function mujocoLoaded(): boolean {
  return loaded !== null;
}

/** The loaded module, or a clear error naming the missing `await`. */
export function mujocoModule(envName: string): MujocoModule {
  if (!loaded) {
    throw new RefineryError(
      "mujoco_not_loaded",
      `${envName} runs on MuJoCo's WebAssembly module, which is not loaded yet`,
      `await loadMujoco() (or await prepareEnv("${envName}")) once before make("${envName}"); the CLI does this for you`,
    );
  }
  return loaded;
}

let fileCounter = 0;

/** Compiles an MJCF string: through the module's string loader, else its in-memory file system. */
export function modelFromXml(mj: MujocoModule, xml: string, envName: string): MjModelLike {
  try {
    if (typeof mj.MjModel.from_xml_string === "function") return mj.MjModel.from_xml_string(xml);
    if (!mj.FS || typeof mj.MjModel.loadFromXML !== "function") {
      throw new Error("the module has neither MjModel.from_xml_string nor FS + MjModel.loadFromXML");
    }
    // mujoco-js 0.0.7 reads models from its virtual (MEMFS) file system only.
    const dir = "/refinery-models";
    if (!mj.FS.analyzePath?.(dir).exists) {
      try {
        mj.FS.mkdir(dir);
      } catch {
        // already there (analyzePath missing in some builds)
      }
    }
    const path = `${dir}/model-${fileCounter++}.xml`;
    mj.FS.writeFile(path, xml);
    try {
      return mj.MjModel.loadFromXML(path);
    } finally {
      mj.FS.unlink(path);
    }
  } catch (e) {
    throw new RefineryError(
      "mujoco_model_error",
      `${envName}: MuJoCo could not compile the model: ${e instanceof Error ? e.message : String(e)}`,
      "check the MJCF (a custom xml option) against MuJoCo's XML reference",
    );
  }
}
