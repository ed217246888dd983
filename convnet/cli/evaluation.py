"""The data ``convnet evaluate`` runs a saved model on, for classifiers and segmenters alike."""

from __future__ import annotations


def evaluation_data(args, metadata: dict, load_dataset, batch: int = 256, **options):
    """(dataset, class names, loader) that ``convnet evaluate`` runs a model on: the model's
    dataset unless ``--dataset``, normalised as its training data was."""
    from ..data import DataLoader
    dataset_name = args.dataset or metadata.get("dataset")
    if not dataset_name:
        raise ValueError(f"--dataset: {args.model} does not say which dataset it was trained on")
    data = load_dataset(dataset_name, args.split, data_dir=args.data_dir, **options)
    classes = metadata.get("classes") or list(data.classes)
    if len(data.classes) != len(classes):
        raise ValueError(f"--dataset: {data.name} has {len(data.classes)} classes, the model "
                         f"{args.model} knows {len(classes)}")
    if len(data) == 0:
        raise ValueError(f"--dataset: the {args.split} split of {data.name} holds no images")
    normalize = metadata.get("normalize")
    loader = DataLoader(data, batch, normalize=(normalize["mean"], normalize["std"])
                        if normalize else None)
    return data, classes, loader
