"""``livekey render``: key video files offline, every frame in order, with sound, progress and batches.

One module a job:

* :mod:`~livekey.render.job` renders one clip: decode with PyAV, key with the
  :class:`~livekey.engine.keyer.Keyer` (temporal state carried through the clip), encode with the
  input's timestamps, audio packets copied across; written under a temporary name and renamed
  when complete.
* :mod:`~livekey.render.outputs` the output kinds (H.264, VP9, QuickTime Animation, ProRes 4444,
  PNG sequence) as a registry chosen by extension and flags.
* :mod:`~livekey.render.media` the input side: opening a clip, the part to key, which audio the
  output's muxer takes unchanged.
* :mod:`~livekey.render.compose` one frame: key, backdrop (a video one on the clip's clock), overlay.
* :mod:`~livekey.render.progress` progress bars (tqdm) or plain lines, and the final line.
* :mod:`~livekey.render.batch` several clips over a local process pool.
* :mod:`~livekey.render.cluster` the same batch as one Ray task per clip.
* :mod:`~livekey.render.command` the command line (``livekey render``).
"""
