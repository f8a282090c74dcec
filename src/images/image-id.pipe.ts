import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { isLowercaseUuid } from '../common/uuid.js';

/** `{image_id}` must be a lowercase UUID: it becomes part of the path of the call to assisted-service. */
@Injectable()
export class ImageIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isLowercaseUuid(value)) throw new BadRequestException('image_id must be a lowercase UUID');
    return value;
  }
}
