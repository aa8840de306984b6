"""The ``tensorcore`` command's pieces: shared options (``options``) and the ``train``
subcommand (``train``); ``tensorcore.__main__`` builds the parser and runs ``demo``.

>>> from tensorcore.cli import options, train
>>> callable(train.run_train) and callable(options.select_device)
True
"""
