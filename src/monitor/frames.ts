// Splits the helper's stdout byte stream into frames: u32 payload length, u32 type, payload.
import { FRAME_HEADER_SIZE } from './layout.ts';

/** Largest frame the helper can send (an event with every string full, plus slack). */
export const MAX_FRAME = 64 * 1024;

const NONE = Buffer.alloc(0);

function frameLength(buf: Buffer, off: number): number {
  const len = buf.readUInt32LE(off);
  if (len > MAX_FRAME) throw new RangeError(`helper sent a ${len}-byte frame (limit ${MAX_FRAME}): the stream is out of step`);
  return len;
}

export class FrameReader {
  /** The start of a frame that the last chunk cut off (never a whole frame). */
  #rest: Buffer = NONE;

  /** Calls onFrame for every complete frame in chunk (plus what was left over before). */
  push(chunk: Buffer, onFrame: (type: number, payload: Buffer) => void): void {
    let off = 0;
    if (this.#rest.length > 0) {
      // Only the cut frame is put together; the rest of the chunk is read where it lies.
      let head = this.#rest;
      if (head.length < FRAME_HEADER_SIZE) {
        head = Buffer.concat([head, chunk.subarray(0, FRAME_HEADER_SIZE - head.length)]);
        if (head.length < FRAME_HEADER_SIZE) {
          this.#rest = head;
          return;
        }
      }
      const take = FRAME_HEADER_SIZE + frameLength(head, 0) - this.#rest.length;
      if (chunk.length < take) {
        this.#rest = Buffer.concat([this.#rest, chunk]);
        return;
      }
      const whole = Buffer.concat([this.#rest, chunk.subarray(0, take)]);
      this.#rest = NONE;
      onFrame(whole.readUInt32LE(4), whole.subarray(FRAME_HEADER_SIZE));
      off = take;
    }
    while (chunk.length - off >= FRAME_HEADER_SIZE) {
      const len = frameLength(chunk, off);
      if (chunk.length - off < FRAME_HEADER_SIZE + len) break;
      onFrame(chunk.readUInt32LE(off + 4), chunk.subarray(off + FRAME_HEADER_SIZE, off + FRAME_HEADER_SIZE + len));
      off += FRAME_HEADER_SIZE + len;
    }
    // Copy the tail so the (large) chunk it came from can be freed.
    if (off < chunk.length) this.#rest = Buffer.from(chunk.subarray(off));
  }
}
