import { goldenSuite } from "./mujoco_golden_suite.js";

// @mujoco/mujoco (MuJoCo 3.14.0), the version Gymnasium recorded the fixture with: every step matches.
goldenSuite("@mujoco/mujoco");
