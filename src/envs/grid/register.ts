import type { Env } from "../env.js";
import type { EnvRegistration } from "../registry.js";
import { GoToLocalEnv, PickupLocEnv } from "./babyai.js";
import { DoorKeyEnv, EmptyEnv, FourRoomsEnv, GoToDoorEnv, LavaGapEnv, MultiRoomEnv } from "./envs.js";
import type { MiniGridEnv } from "./minigrid_env.js";
import { KeyCorridorEnv, UnlockEnv } from "./roomgrid.js";
import { wrapGridObservation, type GridObservation } from "./wrappers.js";

/**
 * Builds a grid env and applies its observation preset. `observation` is taken out of the
 * options before the env sees them; the default is per id (see GRID_REGISTRATIONS).
 */
function gridEntry(build: (kw: Record<string, unknown>) => MiniGridEnv, defaultObservation: GridObservation) {
  return (kwargs: Record<string, unknown>): Env<unknown, unknown> => {
    const { observation = defaultObservation, ...rest } = kwargs;
    return wrapGridObservation(build(rest), observation);
  };
}

interface GridRow {
  id: string;
  build: (kw: Record<string, unknown>) => MiniGridEnv;
  maxSteps: number;
  kwargs?: Record<string, unknown>;
  observation?: GridObservation;
  description: string;
}

const ROWS: GridRow[] = [
  { id: "MiniGrid-Empty-5x5-v0", build: (k) => new EmptyEnv(k), kwargs: { size: 5 }, maxSteps: 100, description: "empty 5×5 room, reach the goal corner" },
  { id: "MiniGrid-Empty-8x8-v0", build: (k) => new EmptyEnv(k), kwargs: { size: 8 }, maxSteps: 256, description: "empty 8×8 room, reach the goal corner" },
  { id: "MiniGrid-Empty-16x16-v0", build: (k) => new EmptyEnv(k), kwargs: { size: 16 }, maxSteps: 1024, description: "empty 16×16 room, reach the goal corner" },
  { id: "MiniGrid-DoorKey-5x5-v0", build: (k) => new DoorKeyEnv(k), kwargs: { size: 5 }, maxSteps: 250, description: "pick up the key, unlock the door, reach the goal (5×5)" },
  { id: "MiniGrid-DoorKey-8x8-v0", build: (k) => new DoorKeyEnv(k), kwargs: { size: 8 }, maxSteps: 640, description: "pick up the key, unlock the door, reach the goal (8×8)" },
  { id: "MiniGrid-FourRooms-v0", build: (k) => new FourRoomsEnv(k), maxSteps: 100, description: "four 19×19 rooms, random agent and goal" },
  { id: "MiniGrid-LavaGapS5-v0", build: (k) => new LavaGapEnv(k), kwargs: { size: 5 }, maxSteps: 100, description: "cross a lava column through its gap (5×5)" },
  { id: "MiniGrid-LavaGapS6-v0", build: (k) => new LavaGapEnv(k), kwargs: { size: 6 }, maxSteps: 144, description: "cross a lava column through its gap (6×6)" },
  { id: "MiniGrid-LavaGapS7-v0", build: (k) => new LavaGapEnv(k), kwargs: { size: 7 }, maxSteps: 196, description: "cross a lava column through its gap (7×7)" },
  { id: "MiniGrid-Unlock-v0", build: (k) => new UnlockEnv(k), maxSteps: 288, description: "find the key and open the locked door" },
  { id: "MiniGrid-GoToDoor-5x5-v0", build: (k) => new GoToDoorEnv(k), kwargs: { size: 5 }, maxSteps: 100, observation: "flat-mission", description: "go to the door the mission names, then done" },
  { id: "MiniGrid-KeyCorridorS3R1-v0", build: (k) => new KeyCorridorEnv(k), kwargs: { roomSize: 3, numRows: 1 }, maxSteps: 270, description: "fetch a key, unlock a room, pick up the ball (1 row)" },
  { id: "MiniGrid-KeyCorridorS3R2-v0", build: (k) => new KeyCorridorEnv(k), kwargs: { roomSize: 3, numRows: 2 }, maxSteps: 270, description: "fetch a key, unlock a room, pick up the ball (2 rows)" },
  { id: "MiniGrid-KeyCorridorS3R3-v0", build: (k) => new KeyCorridorEnv(k), kwargs: { roomSize: 3, numRows: 3 }, maxSteps: 270, description: "fetch a key, unlock a room, pick up the ball (3 rows)" },
  { id: "MiniGrid-MultiRoom-N2-S4-v0", build: (k) => new MultiRoomEnv(k), kwargs: { minNumRooms: 2, maxNumRooms: 2, maxRoomSize: 4 }, maxSteps: 40, description: "two rooms joined by a closed door" },
  // MiniGrid keeps v0 misconfigured for 6 rooms (120 steps) for compatibility; v1 has four.
  { id: "MiniGrid-MultiRoom-N4-S5-v0", build: (k) => new MultiRoomEnv(k), kwargs: { minNumRooms: 6, maxNumRooms: 6, maxRoomSize: 5 }, maxSteps: 120, description: "chain of rooms (6, MiniGrid's legacy v0)" },
  { id: "MiniGrid-MultiRoom-N4-S5-v1", build: (k) => new MultiRoomEnv(k), kwargs: { minNumRooms: 4, maxNumRooms: 4, maxRoomSize: 5 }, maxSteps: 80, description: "chain of four rooms" },
  { id: "BabyAI-GoToLocal-v0", build: (k) => new GoToLocalEnv(k), maxSteps: 64, observation: "flat-mission", description: "go to the object the mission names, one room, 8 objects" },
  { id: "BabyAI-PickupLoc-v0", build: (k) => new PickupLocEnv(k), maxSteps: 64, observation: "flat-mission", description: "pick up the object the mission names (type, colour, location)" },
];

/** The grid-world registrations; registry.ts registers them. */
export const GRID_REGISTRATIONS: EnvRegistration[] = ROWS.map((r) => ({
  id: r.id,
  entryPoint: gridEntry(r.build, r.observation ?? "flat"),
  maxEpisodeSteps: r.maxSteps,
  kwargs: r.kwargs ?? {},
  description: `${r.description}; Discrete(7), reward 1 − 0.9·t/T on success`,
}));
