# The environment of the README: Debian 12 (bookworm) with its Python 3.11, Tk for the plot
# window, and the pinned requirements. Build: docker build -t pythonml .
# A plain Debian base (not python:*) so that its steps can be replayed with
# debootstrap of the same release where no Docker engine runs.
FROM debian:12.12-slim

# python3-tk gives matplotlib its TkAgg window on the host's X server (XQuartz on a Mac);
# python3-venv because Debian's Python refuses pip installs into the system (PEP 668).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3=3.11.2-1+b1 \
        python3-venv=3.11.2-1+b1 \
        python3-tk=3.11.2-3 \
    && rm -rf /var/lib/apt/lists/*

ENV VIRTUAL_ENV=/opt/venv
ENV PATH="$VIRTUAL_ENV/bin:$PATH"
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The scripts are baked in so the image works alone; mounting the checkout on /t
# (docker run -v "$PWD":/t) replaces them with the live copy and keeps the weights on the host.
WORKDIR /t
COPY model.py predict.py ./
COPY mnist_cnn/*.py ./mnist_cnn/
CMD ["bash"]
