import { goldenSuite } from "./mujoco_golden_suite.js";

// The default build, mujoco-js (MuJoCo 3.3.8): matches until the first floor contact.
goldenSuite("mujoco-js");
