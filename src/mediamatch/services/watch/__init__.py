"""Watching live streams for known material: sample, hash, match, alert — while the stream runs.

Shape: a reader thread per stream (`media/stream.py`: decode, sample, luma) fills a bounded
`FrameBuffer`; a small pool of matcher threads takes frames from it in batches, hashes them
with PDQ (numba, GIL released), matches them against the catalogue or a hash list and raises
`Alert`s. The parts, one module each:

- `alerts`: what a match must say (`KnownMatch`) and the `Alert` raised for it;
- `frame_matchers`: what frames are matched against (`StreamFrameMatcher`): the catalogue
  (`CatalogueFrameMatcher`) or a platform's signed hash list (`HashListFrameMatcher`);
- `watcher`: the orchestrator (`Watcher`, `watch`): threads, batching, de-duplication, status;
- `sinks`: where alerts go (log, JSON lines, webhook, hits for review), slow ones behind a
  queue of their own.
"""
