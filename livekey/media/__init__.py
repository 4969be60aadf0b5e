"""Frames in and out: sources (cameras, files, the demo scene), backdrops, sinks (virtual camera,
recorder), image files, and the drawn demo scenes."""
