"""Published numbers of the PA-VAE paper (main comparison, Table 2; ablations, Table 5).

The paper's abstract quotes other figures (AUC 0.715 to 0.822); the tables
are taken as its claim. They come from the paper's own procedural benchmark,
so absolute values are not expected to match a run of this toolkit: the
ordering, the size of the gains and their significance are what a run can
confirm or refute.
"""

PAPER = {
    "source": "PA-VAE paper, Table 2 (main comparison) and Table 5 (ablations)",
    "main": {
        "real_only": {"auc": 0.760, "sens_at_95_spec": 0.430, "ece": 0.062, "fid_like": None, "ssim": None},
        "traditional": {"auc": 0.785, "sens_at_95_spec": 0.472, "ece": 0.055, "fid_like": 41.2, "ssim": 0.63},
        "standard_vae": {"auc": 0.805, "sens_at_95_spec": 0.498, "ece": 0.050, "fid_like": 38.9, "ssim": 0.68},
        "stylegan_lite": {"auc": 0.818, "sens_at_95_spec": 0.512, "ece": 0.049, "fid_like": 35.1, "ssim": 0.72},
        "pa_vae": {"auc": 0.842, "sens_at_95_spec": 0.546, "ece": 0.046, "fid_like": 32.3, "ssim": 0.75},
    },
    "ablations": {
        "pa_vae_no_path": {"delta_auc": -0.028, "delta_fid_like": 1.7},
        "pa_vae_no_class_prior": {"delta_auc": -0.017, "delta_fid_like": 0.9},
        "pa_vae_beta_minus_20": {"delta_auc": -0.009, "delta_fid_like": 0.5},
        "pa_vae_no_mask": {"delta_auc": -0.006, "delta_fid_like": 0.3},
    },
}
