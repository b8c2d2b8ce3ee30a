import { ConfigError, describeValue } from "../../core/errors.js";

/**
 * Mission strings as token ids, so a mission fits a `MultiDiscrete` observation. The
 * vocabulary is fixed (every word MiniGrid's and BabyAI's missions use here); id 0 pads.
 */
export const MISSION_VOCAB: readonly string[] = [
  "<pad>",
  // colours and object words
  "red", "green", "blue", "purple", "yellow", "grey",
  "key", "ball", "box", "door", "goal", "square", "object", "lava", "rooms",
  // verbs and function words
  "get", "to", "the", "a", "reach", "use", "open", "and", "then", "avoid", "pick", "up", "go",
  "traverse", "put", "next", "after", "you", "in", "front", "of", "behind", "on", "your", "left", "right",
];

/** Tokens per mission observation (longer missions are an error, shorter ones are padded). */
export const MISSION_LENGTH = 16;

const WORD_TO_ID = new Map(MISSION_VOCAB.map((w, i) => [w, i]));

/** Token ids of a mission, padded with 0 to MISSION_LENGTH. Commas are dropped. */
export function encodeMission(mission: string, out: Int32Array = new Int32Array(MISSION_LENGTH)): Int32Array {
  const words = mission.replace(/,/g, " ").split(/\s+/).filter((w) => w.length > 0);
  if (words.length > MISSION_LENGTH) {
    throw new ConfigError(`mission ${describeValue(mission)} has ${words.length} words, more than ${MISSION_LENGTH}`, `keep missions within ${MISSION_LENGTH} words`);
  }
  out.fill(0);
  words.forEach((w, i) => {
    const id = WORD_TO_ID.get(w);
    if (id === undefined) throw new ConfigError(`mission word ${describeValue(w)} is not in the grid-world vocabulary`, `use words of MISSION_VOCAB: ${MISSION_VOCAB.slice(1).join(", ")}`);
    out[i] = id;
  });
  return out;
}

/** The mission string of token ids (padding dropped). */
export function decodeMission(tokens: ArrayLike<number>): string {
  const words: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === 0) continue;
    const w = MISSION_VOCAB[t];
    if (w === undefined) throw new ConfigError(`mission token ${describeValue(t)} is outside the vocabulary`, `pass ids in [0, ${MISSION_VOCAB.length - 1}]`);
    words.push(w);
  }
  return words.join(" ");
}
