"""Stone Soup's GNN tracker on the detections `fusion-compare prepare` wrote.

usage: stonesoup_gnn.py DIR

Reads DIR/detections.csv (step,t_s,x_m,y_m,sigma_m,sensor,origin), DIR/eval.csv
and DIR/params.txt; runs a global-nearest-neighbour tracker built from Stone
Soup's own components, step by step over the same groups of detections Caveat
associates together (one-second scan, then sensor); writes the confirmed
tracks' positions at each evaluation instant to DIR/stonesoup_tracks.csv
(k,x_m,y_m) and the wall time of the tracking loop to DIR/stonesoup_time.txt.

Components (Stone Soup 1.9):
- CombinedLinearGaussianTransitionModel of two ConstantVelocity models with
  noise_diff_coeff = Caveat's process_noise (the same continuous
  white-noise-acceleration model);
- KalmanPredictor / KalmanUpdater; each detection carries its own LinearGaussian
  model (mapping x, y; noise sigma_m^2 on each axis);
- DistanceHypothesiser with the Mahalanobis measure, missed_distance =
  sqrt(Caveat's chi-square gate), and GNNWith2DAssignment;
- MultiMeasurementInitiator confirming on Caveat's confirm_hits updates, prior
  velocity sigma = Caveat's initial_speed_sigma, holding tracks deleted after
  Caveat's tentative_coast without an update;
- UpdateTimeDeleter after Caveat's confirmed_coast without an update. (The
  time-based deleter rather than UpdateTimeStepsDeleter: steps here are
  per-sensor groups of detections at irregular times, so a number of steps is
  no fixed time; Caveat's coasting rules are in time.)

Only the loop (associate, update, delete, initiate, plus the snapshots at the
evaluation instants) is timed; reading the CSV and building the Detection
objects is not, as Caveat's timing leaves out building its reports.
"""

import csv
import math
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
from stonesoup.deleter.time import UpdateTimeDeleter
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.initiator.simple import MultiMeasurementInitiator
from stonesoup.measures import Mahalanobis
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
    ConstantVelocity,
)
from stonesoup.predictor.kalman import KalmanPredictor
from stonesoup.types.detection import Detection
from stonesoup.types.state import GaussianState
from stonesoup.updater.kalman import KalmanUpdater

EPOCH = datetime(2022, 1, 3)  # any fixed origin: only differences of time matter


def read_params(path):
    params = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            params[k.strip()] = v.strip()
    return params


def main():
    d = Path(sys.argv[1])
    params = read_params(d / "params.txt")
    q = float(params["process_noise"])
    gate = math.sqrt(float(params["gate_position"]))
    v_sigma = float(params["initial_speed_sigma"])
    hits = int(params["confirm_hits"])
    tentative = timedelta(seconds=float(params["tentative_coast_s"]))
    confirmed = timedelta(seconds=float(params["confirmed_coast_s"]))

    # Steps: lists of detections, in file order (Caveat's processing order).
    models = {}
    steps = []  # (scan start, {Detection})
    last = None
    with open(d / "detections.csv", newline="") as f:
        for row in csv.DictReader(f):
            t_s = float(row["t_s"])
            sigma = float(row["sigma_m"])
            model = models.get(sigma)
            if model is None:
                model = LinearGaussian(
                    ndim_state=4, mapping=(0, 2), noise_covar=np.diag([sigma**2, sigma**2])
                )
                models[sigma] = model
            det = Detection(
                np.array([[float(row["x_m"])], [float(row["y_m"])]]),
                timestamp=EPOCH + timedelta(seconds=t_s),
                measurement_model=model,
            )
            step = int(row["step"])
            if step != last:
                steps.append((float(row["scan_t_s"]), set()))
                last = step
            steps[-1][1].add(det)
    with open(d / "eval.csv", newline="") as f:
        evals = [float(row["t_s"]) for row in csv.DictReader(f)]

    transition = CombinedLinearGaussianTransitionModel(
        [ConstantVelocity(q), ConstantVelocity(q)]
    )
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(measurement_model=None)
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=gate
    )
    associator = GNNWith2DAssignment(hypothesiser)
    deleter = UpdateTimeDeleter(time_since_update=confirmed)
    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(
            np.zeros((4, 1)), np.diag([1.0, v_sigma**2, 1.0, v_sigma**2])
        ),
        deleter=UpdateTimeDeleter(time_since_update=tentative),
        data_associator=GNNWith2DAssignment(
            DistanceHypothesiser(
                predictor, updater, measure=Mahalanobis(), missed_distance=gate
            )
        ),
        updater=updater,
        min_points=hits,
    )

    tracks = set()
    snapshots = []  # (k, x, y)

    def snapshot(k):
        at = EPOCH + timedelta(seconds=evals[k])
        for track in tracks:
            state = predictor.predict(track.state, timestamp=at)
            snapshots.append((k, float(state.state_vector[0, 0]), float(state.state_vector[2, 0])))

    k = 0
    started = time.perf_counter()
    for scan, detections in steps:
        while k < len(evals) and scan >= evals[k]:
            snapshot(k)
            k += 1
        now = max(det.timestamp for det in detections)
        hypotheses = associator.associate(tracks, detections, now)
        associated = set()
        for track, hypothesis in hypotheses.items():
            if hypothesis:
                track.append(updater.update(hypothesis))
                associated.add(hypothesis.measurement)
        tracks -= deleter.delete_tracks(tracks, timestamp=now)
        tracks |= initiator.initiate(detections - associated, now)
    while k < len(evals):
        snapshot(k)
        k += 1
    elapsed = time.perf_counter() - started

    with open(d / "stonesoup_tracks.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["k", "x_m", "y_m"])
        for k, x, y in snapshots:
            w.writerow([k, f"{x:.2f}", f"{y:.2f}"])
    (d / "stonesoup_time.txt").write_text(f"{elapsed}\n")
    n = sum(len(dets) for _, dets in steps)
    print(f"stone soup GNN: {n} detections in {len(steps)} steps, {elapsed:.2f} s")


if __name__ == "__main__":
    main()
