/**
 * Where a tracked person stands on the store floor, from their box in one camera's frame.
 *
 * A floor homography maps image points that lie *on the floor*; which point of a box is taken
 * (the anchor) depends on the view:
 * - oblique views (entrance, shelf) see the feet: the bottom centre of the box. Off the optical
 *   axis an upright body leans towards the vanishing point of verticals, so when the camera's
 *   floor position is known the feet are taken on that line through the box centre instead.
 * - overhead views looking straight down see head and shoulders, with the feet hidden under
 *   them: the box centre, which stays put while the detector's box edges come and go. A body
 *   point at height z is seen where the ray through it meets the floor, Hc / (Hc − z) times as far
 *   from the point under the lens (Hc: mount height). With the mount known the projected point
 *   is pulled back by that factor; without it a 1.7 m shopper's box centre under a 3.2 m camera
 *   is off by about 0.57 × their distance from the point under the camera.
 *   `foot` there is the box point nearest the image point under the lens (everything above the
 *   feet leans away from it): about a leg's radius off, mount known or not. `head` is the box
 *   centre taken at head height.
 */
import { mapPoint, type CameraCalibration, type CameraMount } from '../../../calibration/camera-homography.js';
import { EdgeError, ErrorCode } from '../errors.js';
import type { FloorPoint } from './camera-track.js';

export type ProjectionAnchor = 'foot' | 'head' | 'centre';
export type CameraRole = 'overhead' | 'entrance' | 'shelf';

export interface ImageBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface FloorProjectorOptions {
  role: CameraRole;
  /** Default: `centre` for overhead cameras, `foot` for the others. */
  anchor?: ProjectionAnchor;
  /** Overrides the calibration's mount. */
  mount?: CameraMount;
  /** Height assumed for a shopper when undoing parallax (default 1.7 m). */
  personHeightM?: number;
}

export const DEFAULT_PERSON_HEIGHT_M = 1.7;

export type FloorCalibrationView = Pick<CameraCalibration, 'camera' | 'homography' | 'inverse' | 'imageSize'> & { mount?: CameraMount | undefined };

export class FloorProjector {
  readonly role: CameraRole;
  readonly anchor: ProjectionAnchor;
  private readonly h = new Float64Array(9);
  /**
   * Image point of the vertical through the lens: straight below it for overhead views, the
   * vanishing point of upright bodies for oblique ones (NaN when unknown).
   */
  private readonly nadirU: number = NaN;
  private readonly nadirV: number = NaN;
  /** Floor point under the lens, and how far the anchor's floor point is pulled towards it. */
  private readonly floorNadir: FloorPoint = { x: 0, y: 0 };
  private readonly keep: number;

  constructor(cal: FloorCalibrationView, options: FloorProjectorOptions) {
    const fail = (message: string) => new EdgeError(ErrorCode.VisionCalibrationInvalid, `camera ${cal.camera}: ${message}`);
    if (cal.homography.length !== 9 || !cal.homography.every(Number.isFinite)) throw fail('the homography must be 9 finite numbers');
    this.h.set(cal.homography);
    this.role = options.role;
    const overhead = options.role === 'overhead';
    this.anchor = options.anchor ?? (overhead ? 'centre' : 'foot');
    const mount = options.mount ?? cal.mount;
    const personM = options.personHeightM ?? DEFAULT_PERSON_HEIGHT_M;
    if (!(personM > 0 && personM < 3)) throw fail(`person height ${personM} m is not a person's height`);

    if (mount?.x !== undefined && mount.y !== undefined) {
      this.floorNadir.x = mount.x;
      this.floorNadir.y = mount.y;
      // Projective: the floor point under the lens maps to the vanishing point of verticals even
      // when it is behind an oblique camera.
      const image = { x: 0, y: 0 };
      if (mapPoint(cal.inverse, mount.x, mount.y, image)) {
        this.nadirU = image.x;
        this.nadirV = image.y;
      }
    } else if (mount && !overhead) {
      throw fail('an oblique camera needs the floor point under its lens (mount x and y) to undo parallax');
    } else if (overhead) {
      this.nadirU = cal.imageSize.width / 2;
      this.nadirV = cal.imageSize.height / 2;
      if (!mapPoint(this.h, this.nadirU, this.nadirV, this.floorNadir)) throw fail('the image centre does not map onto the floor');
    }
    if (overhead && !Number.isFinite(this.nadirU)) throw fail('the floor point under the lens does not map into the image');

    if (!mount) {
      this.keep = 1;
      return;
    }
    const Hc = mount.heightM;
    if (!(Hc > personM)) throw fail(`the camera is mounted at ${Hc} m, not above a ${personM} m shopper`);
    let z = 0;
    if (this.anchor === 'head') z = personM;
    else if (this.anchor === 'centre') {
      // Straight down, the box spans from the feet (factor 1) to the head (factor k) along the
      // ray from the nadir; its centre sits at (1 + k) / 2, the height where that factor holds.
      const k = Hc / (Hc - personM);
      z = overhead ? (Hc * (k - 1)) / (k + 1) : personM / 2;
    }
    this.keep = (Hc - z) / Hc;
  }

  /**
   * The floor point of a person's box, written into `out` when given (no allocation on the hot
   * path). NaN coordinates when the anchor lies on or beyond the floor's horizon.
   */
  project(box: ImageBox, out: FloorPoint = { x: 0, y: 0 }): FloorPoint {
    const overhead = this.role === 'overhead';
    let u = (box.x1 + box.x2) / 2;
    let v = (box.y1 + box.y2) / 2;
    if (this.anchor === 'foot' && overhead) {
      u = clamp(this.nadirU, box.x1, box.x2);
      v = clamp(this.nadirV, box.y1, box.y2);
    } else if (this.anchor !== 'centre' && !overhead) {
      v = this.anchor === 'foot' ? box.y2 : box.y1;
      // Off the optical axis an upright body leans towards the vanishing point of verticals, so
      // its feet and head sit on the line from there through the box centre, not straight below.
      if (Number.isFinite(this.nadirU) && Math.abs((box.y1 + box.y2) / 2 - this.nadirV) > 1e-9) {
        u = clamp(this.nadirU + ((u - this.nadirU) * (v - this.nadirV)) / ((box.y1 + box.y2) / 2 - this.nadirV), box.x1, box.x2);
      }
    }
    return this.projectImagePoint(u, v, out);
  }

  /** An image point taken to be at the anchor's height, onto the floor. */
  projectImagePoint(u: number, v: number, out: FloorPoint = { x: 0, y: 0 }): FloorPoint {
    if (!mapPoint(this.h, u, v, out) || !Number.isFinite(out.x) || !Number.isFinite(out.y)) {
      out.x = NaN;
      out.y = NaN;
      return out;
    }
    if (this.keep !== 1) {
      out.x = this.floorNadir.x + (out.x - this.floorNadir.x) * this.keep;
      out.y = this.floorNadir.y + (out.y - this.floorNadir.y) * this.keep;
    }
    return out;
  }
}

const clamp = (value: number, lo: number, hi: number) => (value < lo ? lo : value > hi ? hi : value);
