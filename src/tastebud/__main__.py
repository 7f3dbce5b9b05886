def main() -> None:
    print("tastebud")
