// Splits the helper's stdout byte stream into frames: u32 payload length, u32 type, payload.
import { FRAME_HEADER_SIZE } from './layout.ts';

/** Largest frame the helper can send (an event with every string full, plus slack). */
export const MAX_FRAME = 64 * 1024;

export class FrameReader {
  #rest: Buffer = Buffer.alloc(0);

  /** Calls onFrame for every complete frame in chunk (plus what was left over before). */
  push(chunk: Buffer, onFrame: (type: number, payload: Buffer) => void): void {
    const buf = this.#rest.length === 0 ? chunk : Buffer.concat([this.#rest, chunk]);
    let off = 0;
    while (buf.length - off >= FRAME_HEADER_SIZE) {
      const len = buf.readUInt32LE(off);
      if (len > MAX_FRAME) throw new RangeError(`helper sent a ${len}-byte frame (limit ${MAX_FRAME}): the stream is out of step`);
      if (buf.length - off < FRAME_HEADER_SIZE + len) break;
      const type = buf.readUInt32LE(off + 4);
      onFrame(type, buf.subarray(off + FRAME_HEADER_SIZE, off + FRAME_HEADER_SIZE + len));
      off += FRAME_HEADER_SIZE + len;
    }
    // Copy the tail so the (large) chunk it came from can be freed.
    this.#rest = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  }
}
