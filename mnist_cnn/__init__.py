"""mnist-cnn: the package under the two scripts, model.py (train) and predict.py (read pictures).

One concern per module; only those marked (TensorFlow) import it, so that checks and pictures
stay fast:

    errors.py    the user's error (one line, no traceback) and how a script ends on it
    storage.py   files written whole or not at all, places checked for writing first
    backend.py   TensorFlow and Keras, imported once, quietly, with oneDNN on (TensorFlow)
    cpu.py       what the CPU can do (its flags), from /proc/cpuinfo
    network.py   the network, its weights saved and loaded (TensorFlow)
    mnist.py     MNIST read and checked, the validation split
    pipeline.py  the tf.data input pipeline and its augmentation (TensorFlow)
    recipe.py    the training recipe as one value, and what --plain means
    training.py  fit() with the recipe's schedule, the best epoch kept (TensorFlow)
    resume.py    a run's state folder: its lock, start or resume, its history
    pictures.py  a picture file to MNIST's 28x28, in call order
    lines.py     lines across the whole picture (ruled or squared paper, a table's edge)
    digits.py    the digits of a number: pieces of ink grouped, line by line, left to right, touching ones split
    novelty.py   not a digit: how far the network's view of a piece lies from every digit's, how like a letter
    outliers.py  printed letters and digits, MNIST's on paper, as predict.py reads them: for the letter detector
    reading.py   each piece read (TensorFlow, when a Reader is made): a digit or not, which digit
    formats.py   a picture's reading said: its text and its JSON
    batches.py   many files found and prepared chunk by chunk, in worker processes
    figures.py   the training plot and its mistakes, the prediction figure, opening a window
    pad.py       the drawing pad of predict.py --draw: strokes read as they are written
"""
