/**
 * MiniGrid's index tables (minigrid/core/constants.py): the numbers every observation,
 * snapshot and wrapper uses. They must not change, or observations stop matching MiniGrid's.
 */

export const OBJECT_TO_IDX = {
  unseen: 0,
  empty: 1,
  wall: 2,
  floor: 3,
  door: 4,
  key: 5,
  ball: 6,
  box: 7,
  goal: 8,
  lava: 9,
  agent: 10,
} as const;

export type ObjectType = "wall" | "floor" | "door" | "key" | "ball" | "box" | "goal" | "lava";

export const IDX_TO_OBJECT: readonly string[] = Object.keys(OBJECT_TO_IDX);

export const COLOR_TO_IDX = { red: 0, green: 1, blue: 2, purple: 3, yellow: 4, grey: 5 } as const;

export type Color = keyof typeof COLOR_TO_IDX;

export const IDX_TO_COLOR: readonly Color[] = ["red", "green", "blue", "purple", "yellow", "grey"];

/**
 * MiniGrid's `COLOR_NAMES`: the colours in *sorted* order. Random colour draws index this
 * list (so a draw of 0 is blue, not red).
 */
export const COLOR_NAMES: readonly Color[] = ["blue", "green", "grey", "purple", "red", "yellow"];

/** RGB of each colour in renders (MiniGrid's `COLORS`). */
export const COLOR_RGB: Readonly<Record<Color, readonly [number, number, number]>> = {
  red: [255, 0, 0],
  green: [0, 255, 0],
  blue: [0, 0, 255],
  purple: [112, 39, 195],
  yellow: [255, 255, 0],
  grey: [100, 100, 100],
};

/** Door states in the third channel; every other object encodes 0. */
export const STATE_TO_IDX = { open: 0, closed: 1, locked: 2 } as const;

export const NUM_OBJECTS = 11;
export const NUM_COLORS = 6;
export const NUM_STATES = 3;

/** Unit vector of each direction: 0 = +x (right), 1 = +y (down), 2 = −x, 3 = −y. */
export const DIR_TO_VEC: readonly (readonly [number, number])[] = [
  [1, 0],
  [0, 1],
  [-1, 0],
  [0, -1],
];

/** MiniGrid's seven actions. */
export const Actions = {
  left: 0,
  right: 1,
  forward: 2,
  pickup: 3,
  drop: 4,
  toggle: 5,
  done: 6,
} as const;

export const ACTION_NAMES = ["left", "right", "forward", "pickup", "drop", "toggle", "done"] as const;

/** Side of the square egocentric view (MiniGrid's `agent_view_size` default). */
export const VIEW_SIZE = 7;
